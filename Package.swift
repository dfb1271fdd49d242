// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "deborgen",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "deborgen", targets: ["deborgen"]),
        .library(name: "Policies", targets: ["Policies"]),
        .library(name: "Sim", targets: ["Sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CGLPK",
            providers: [.apt(["libglpk-dev"])]
        ),
        .target(
            name: "Policies",
            dependencies: [
                "CGLPK",
                .product(name: "Collections", package: "swift-collections"),
            ]
        ),
        .target(name: "Sim", dependencies: ["Policies"]),
        .target(name: "Runtime", dependencies: ["Policies"]),
        .target(name: "Bench", dependencies: ["Policies", "Sim"]),
        .executableTarget(
            name: "deborgen",
            dependencies: [
                "Policies", "Sim", "Runtime", "Bench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "PoliciesTests", dependencies: ["Policies", "Sim"]),
        .testTarget(name: "SimTests", dependencies: ["Policies", "Sim"]),
        .testTarget(name: "BenchTests", dependencies: ["Bench", "Policies", "Sim"]),
    ],
    swiftLanguageModes: [.v6]
)
