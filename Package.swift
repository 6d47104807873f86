// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Canopy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "canopy", targets: ["canopy"]),
        .library(name: "CanopyCore", targets: ["CanopyCore"]),
        .library(name: "CanopyScenario", targets: ["CanopyScenario"]),
        .library(name: "CanopyTracking", targets: ["CanopyTracking"]),
        .library(name: "CanopyTEWA", targets: ["CanopyTEWA"]),
        .library(name: "CanopyWTA", targets: ["CanopyWTA"]),
        .library(name: "CanopyAlerting", targets: ["CanopyAlerting"]),
        .library(name: "CanopyBattle", targets: ["CanopyBattle"]),
        .library(name: "CanopySimulation", targets: ["CanopySimulation"]),
        .library(name: "CanopyStudy", targets: ["CanopyStudy"]),
        .library(name: "CanopyServer", targets: ["CanopyServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Units, WGS-84 geodesy, small fixed-size linear algebra, seeded random streams.
        .target(name: "CanopyCore"),
        // Scenario model, catalogue of types, YAML/JSON loading, validation.
        .target(
            name: "CanopyScenario",
            dependencies: ["CanopyCore", "CanopyTracking", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Resources")]
        ),
        // Filters, gating, assignment, association, track management. Knows no scenario.
        .target(name: "CanopyTracking", dependencies: ["CanopyCore"]),
        // Static weapon-target assignment: instance format, greedy, local search, exact
        // branch and bound with Lagrangian bounds. Knows nothing of scenarios or tracks.
        .target(name: "CanopyWTA", dependencies: ["CanopyCore"]),
        // Threat evaluation and weapon-target assignment. Knows tracks, not truth.
        .target(name: "CanopyTEWA", dependencies: ["CanopyCore", "CanopyScenario", "CanopyTracking", "CanopyWTA"]),
        // Civil alerts from predicted threat paths.
        .target(name: "CanopyAlerting", dependencies: ["CanopyCore"]),
        // The BattleManager: tracker, assessor, assigner and alerter fed by detections only.
        // It cannot see the World: CanopySimulation is not among its dependencies.
        .target(
            name: "CanopyBattle",
            dependencies: ["CanopyCore", "CanopyScenario", "CanopyTracking", "CanopyTEWA", "CanopyAlerting"]
        ),
        // The World (truth), the clock, the loop, outcomes.
        .target(
            name: "CanopySimulation",
            dependencies: ["CanopyCore", "CanopyScenario", "CanopyTracking", "CanopyTEWA", "CanopyAlerting", "CanopyBattle"]
        ),
        // Monte Carlo studies: replications in parallel, statistics with confidence intervals,
        // shards and their exact merge.
        .target(
            name: "CanopyStudy",
            dependencies: ["CanopyCore", "CanopyScenario", "CanopySimulation", "CanopyTEWA", .product(name: "Yams", package: "Yams")]
        ),
        // The live C2 server: HTTP and WebSocket API, the web map, the run store (SQLite),
        // live ingest into a BattleManager, CoT and alerts out.
        .target(
            name: "CanopyServer",
            dependencies: [
                "CanopyCore", "CanopyScenario", "CanopyBattle", "CanopyAlerting", "CanopySimulation", "CanopyTracking", "CanopyTEWA",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Web")]
        ),
        .executableTarget(
            name: "canopy",
            dependencies: [
                "CanopyCore", "CanopyScenario", "CanopyTracking", "CanopySimulation", "CanopyWTA", "CanopyStudy", "CanopyServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A load test of `canopy serve` (WebSocket clients, a live feed, a burst of bad requests).
        .executableTarget(
            name: "canopy-load",
            dependencies: [
                "CanopyCore",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "CanopyCoreTests", dependencies: ["CanopyCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CanopyScenarioTests", dependencies: ["CanopyScenario"]),
        .testTarget(name: "CanopyTrackingTests", dependencies: ["CanopyTracking"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CanopyTEWATests", dependencies: ["CanopyTEWA"]),
        .testTarget(name: "CanopyWTATests", dependencies: ["CanopyWTA"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CanopyBattleTests", dependencies: ["CanopyBattle"]),
        .testTarget(name: "CanopyAlertingTests", dependencies: ["CanopyAlerting"]),
        .testTarget(name: "CanopySimulationTests", dependencies: ["CanopySimulation"]),
        .testTarget(name: "CanopyStudyTests", dependencies: ["CanopyStudy"]),
        .testTarget(
            name: "CanopyServerTests",
            dependencies: [
                "CanopyServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(name: "CanopyCLITests", dependencies: ["canopy"]),
    ],
    swiftLanguageModes: [.v6]
)
