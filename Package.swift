// swift-tools-version:6.0
// DistillLab: a Swift lab for research on model extraction by distillation and its defences.
import PackageDescription

let package = Package(
    name: "DistillLab",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "DistillLab", targets: ["LabCore", "LabModel", "LabData", "LabSimulation", "LabExperiments", "LabService"]),
        .executable(name: "distill-lab", targets: ["distill-lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .target(name: "LabCore", dependencies: ["CBLAS"]),
        .target(name: "LabModel", dependencies: ["LabCore"]),
        .target(name: "LabData", dependencies: ["LabCore", "LabModel"]),
        .target(name: "LabSimulation", dependencies: ["LabCore", "LabModel", "LabData"]),
        .target(
            name: "LabExperiments",
            dependencies: ["LabCore", "LabModel", "LabData", "LabSimulation", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "LabService",
            dependencies: [
                "LabCore", "LabModel", "LabData", "LabSimulation", "LabExperiments",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "distill-lab",
            dependencies: [
                "LabCore", "LabModel", "LabData", "LabSimulation", "LabExperiments", "LabService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["LabCore", "LabModel"], path: "Tests/TestSupport"),
        .testTarget(name: "ExtractionTests", dependencies: ["LabCore", "LabModel", "LabData", "LabSimulation", "TestSupport"]),
        .testTarget(name: "LabCoreTests", dependencies: ["LabCore", "TestSupport"]),
        .testTarget(name: "LabModelTests", dependencies: ["LabCore", "LabModel", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "LabDataTests", dependencies: ["LabCore", "LabModel", "LabData", "TestSupport"]),
        .testTarget(name: "LabSimulationTests", dependencies: ["LabCore", "LabModel", "LabData", "LabSimulation", "TestSupport"]),
        .testTarget(name: "LabServiceTests", dependencies: ["LabCore", "LabModel", "LabData", "LabSimulation", "LabService", "TestSupport"]),
        .testTarget(name: "LabExperimentsTests", dependencies: ["LabCore", "LabModel", "LabData", "LabSimulation", "LabExperiments", "TestSupport", .product(name: "Yams", package: "Yams")]),
    ],
    swiftLanguageModes: [.v5]
)
