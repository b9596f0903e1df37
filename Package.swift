// swift-tools-version:6.0
// DistillLab: a Swift lab for research on model extraction by distillation and its defences.
import PackageDescription

let package = Package(
    name: "DistillLab",
    platforms: [.macOS(.v13)],
    products: [
        .library(
            name: "DistillLab",
            targets: [
                "LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "LabAttacks", "LabForensics", "LabCampaigns",
                "LabSimulation", "LabExperiments", "LabService",
            ]),
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
        .target(name: "CVector"),
        .target(name: "LabCore", dependencies: ["CBLAS", "CVector"]),
        .target(name: "LabModel", dependencies: ["LabCore"]),
        .target(name: "LabData", dependencies: ["LabCore", "LabModel"]),
        // The simulation, one room per concern; a room imports only the rooms above it in this list.
        .target(name: "LabAPI", dependencies: ["LabCore", "LabModel", "LabData"]),
        .target(name: "LabDefences", dependencies: ["LabCore", "LabModel", "LabData", "LabAPI"]),
        .target(name: "LabAttacks", dependencies: ["LabCore", "LabModel", "LabData", "LabAPI", "LabDefences"]),
        .target(name: "LabForensics", dependencies: ["LabCore", "LabModel", "LabDefences"]),
        .target(name: "LabCampaigns", dependencies: ["LabCore", "LabModel", "LabData", "LabAPI", "LabAttacks"]),
        .target(
            name: "LabSimulation",
            dependencies: ["LabAPI", "LabDefences", "LabAttacks", "LabForensics", "LabCampaigns"]),
        .target(
            name: "LabExperiments",
            dependencies: [
                "LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "LabAttacks", "LabForensics", "LabCampaigns",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "LabService",
            dependencies: [
                "LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "LabAttacks", "LabForensics", "LabCampaigns",
                "LabExperiments",
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
                "LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "LabAttacks", "LabCampaigns",
                "LabExperiments", "LabService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["LabCore", "LabModel", "LabAPI"], path: "Tests/TestSupport"),
        .testTarget(name: "LabCoreTests", dependencies: ["LabCore", "TestSupport"]),
        .testTarget(
            name: "LabModelTests", dependencies: ["LabCore", "LabModel", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "LabDataTests", dependencies: ["LabCore", "LabModel", "LabData", "TestSupport"]),
        .testTarget(
            name: "LabAPITests",
            dependencies: ["LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "TestSupport"]),
        .testTarget(
            name: "LabDefencesTests",
            dependencies: ["LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "TestSupport"]
        ),
        .testTarget(
            name: "LabAttacksTests",
            dependencies: ["LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "LabAttacks", "TestSupport"]
        ),
        .testTarget(
            name: "LabForensicsTests",
            dependencies: [
                "LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "LabAttacks", "LabForensics", "TestSupport",
            ]
        ),
        .testTarget(
            name: "LabCampaignsTests",
            dependencies: [
                "LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "LabAttacks", "LabCampaigns", "TestSupport",
            ]
        ),
        .testTarget(
            name: "LabServiceTests",
            dependencies: [
                "LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "LabAttacks", "LabForensics",
                "LabExperiments", "LabService", "TestSupport",
            ]
        ),
        // Runs the built distill-lab binary over a table of bad inputs; depends on no library target.
        .testTarget(name: "CLIRobustnessTests"),
        .testTarget(
            name: "LabExperimentsTests",
            dependencies: [
                "LabCore", "LabModel", "LabData", "LabAPI", "LabDefences", "LabAttacks", "LabCampaigns",
                "LabExperiments",
                "TestSupport",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
