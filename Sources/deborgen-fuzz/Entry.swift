import Foundation

#if DEBORGEN_FUZZ
// Built by scripts/fuzz.sh with `--sanitize=fuzzer -D DEBORGEN_FUZZ -parse-as-library`:
// libFuzzer supplies `main` and calls this once per input. The reader comes from the
// environment, so one binary serves every target.

let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["DEBORGEN_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data(
            "DEBORGEN_FUZZ_TARGET is '\(name)'; accepted: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return t
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selectedTarget.run(bytes.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
}
#else
/// Without libFuzzer (the normal build): replays inputs through one reader and prints what it
/// said, to reproduce a crash found by fuzzing in an ordinary debug build.
/// `deborgen-fuzz TARGET FILE|DIR...`
@main struct FuzzReplay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let first = args.first, let target = FuzzTarget(rawValue: first), args.count > 1 else {
            print("usage: deborgen-fuzz TARGET FILE|DIR...   (TARGET: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
            print("Fuzzing itself: scripts/fuzz.sh TARGET SECONDS (README: Run the tests).")
            exit(2)
        }
        for path in args.dropFirst() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                print("\(path): no such file")
                exit(1)
            }
            let files = isDir.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
                : [path]
            for f in files {
                guard let data = FileManager.default.contents(atPath: f) else { continue }
                print("\(f): \(target.describe(data))")
            }
        }
    }
}
#endif
