// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "deborgen",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "deborgen", targets: ["deborgen"]),
        .library(name: "Policies", targets: ["Policies"]),
        .library(name: "ILP", targets: ["ILP"]),
        .library(name: "Sim", targets: ["Sim"]),
        .library(name: "Bench", targets: ["Bench"]),
        .library(name: "API", targets: ["API"]),
        .library(name: "Server", targets: ["Server"]),
        .library(name: "Worker", targets: ["Worker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CGLPK",
            providers: [.apt(["libglpk-dev"])]
        ),
        // The engine: the standard library and swift-collections only.
        .target(
            name: "Policies",
            dependencies: [
                .product(name: "Collections", package: "swift-collections"),
            ]
        ),
        // The ILP batch allocator on GLPK beside the engine, and the catalog of every policy.
        .target(name: "ILP", dependencies: ["Policies", "CGLPK"]),
        // The discrete-event simulator, workload and trace readers, replay, reports.
        .target(name: "Sim", dependencies: ["Policies"]),
        // The one SVG chart writer: benchmark figures and the status page's charts.
        .target(name: "Charts"),
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The API's wire types and the client that speaks them (submitters, workers, the CLI).
        .target(name: "API", dependencies: ["Policies"]),
        // The coordinator: HTTP server, core, store, status page.
        .target(
            name: "Server",
            dependencies: [
                "API", "Policies", "ILP", "CSQLite", "Charts",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // The worker: claims jobs from a coordinator and runs them in a sandbox or a container.
        .target(name: "Worker", dependencies: ["API", "Policies"]),
        // Benchmarks and experiments: the logic behind `deborgen bench …`, including the local
        // cooperative of a coordinator and workers that the live benchmarks start.
        .target(name: "Bench", dependencies: ["Policies", "ILP", "Sim", "Charts", "API", "Server", "Worker"]),
        // The command line: parses arguments and calls the libraries above.
        .executableTarget(
            name: "deborgen",
            dependencies: [
                "Policies", "ILP", "Sim", "API", "Server", "Worker", "Bench", "Charts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // libFuzzer targets for the readers of untrusted input (scripts/fuzz.sh builds it with
        // --sanitize=fuzzer; the normal build gets a replay tool).
        .executableTarget(name: "deborgen-fuzz", dependencies: ["Sim", "Bench", "API", "Server"]),
        .testTarget(name: "PoliciesTests", dependencies: ["Policies", "Sim"]),
        .testTarget(name: "ILPTests", dependencies: ["ILP", "Policies", "Sim"]),
        // The fuzz inputs' reader, shared by the suites that replay them (not a product).
        .target(name: "FuzzInputs", path: "Tests/FuzzInputs"),
        .testTarget(name: "SimTests", dependencies: ["Policies", "ILP", "Sim", "FuzzInputs"]),
        .testTarget(name: "ServerTests", dependencies: ["Policies", "ILP", "Sim", "API", "Server", "CSQLite", "FuzzInputs"]),
        .testTarget(name: "WorkerTests", dependencies: ["API", "Server", "Worker", "Policies", "ILP", "Sim"]),
        .testTarget(name: "BenchTests", dependencies: ["Bench", "Policies", "ILP", "Sim", "API", "Server", "FuzzInputs"]),
    ],
    swiftLanguageModes: [.v6]
)
