// swift-tools-version:6.0
// DistillLab's examples: small programs that use the lab as a library, the way a researcher's own package
// does — train a teacher, attack it under a defence, run an experiment file and read its results.
// CI builds and runs each one (scripts/examples.sh).
import PackageDescription

let package = Package(
    name: "DistillLabExamples",
    platforms: [.macOS(.v13)],
    dependencies: [
        // A researcher's package names the lab by its repository URL; these examples sit inside it.
        .package(name: "DistillLab", path: "..")
    ],
    targets: [
        .executableTarget(name: "TrainTeacher", dependencies: [.product(name: "DistillLab", package: "DistillLab")]),
        .executableTarget(
            name: "AttackUnderDefence", dependencies: [.product(name: "DistillLab", package: "DistillLab")]),
        .executableTarget(name: "RunSweep", dependencies: [.product(name: "DistillLab", package: "DistillLab")]),
    ],
    swiftLanguageModes: [.v5]
)
