// swift-tools-version: 6.1
// A package of your own that uses Canopy as a library (docs/library.md): it compares a
// doctrine of its own with Canopy's built-in assigner over the same replications of a raid.
import Foundation
import PackageDescription

// Canopy is the project two folders up. A path dependency's package name is its folder's name,
// whatever the clone was called.
let canopy = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
let name = canopy.lastPathComponent.lowercased()

let package = Package(
    name: "CompareDoctrine",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: canopy.path)],
    targets: [
        .executableTarget(name: "CompareDoctrine", dependencies: [
            .product(name: "CanopyScenario", package: name),
            .product(name: "CanopyTEWA", package: name),
            .product(name: "CanopyBattle", package: name),
            .product(name: "CanopySimulation", package: name),
            .product(name: "CanopyStudy", package: name),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
