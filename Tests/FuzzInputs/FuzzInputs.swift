import Foundation

/// The inputs kept from fuzzing (scripts/fuzz.sh) for one target, for the test suites that
/// replay them: crash inputs (`fuzz/regressions/TARGET/`), the seeds (`fuzz/seeds/TARGET/`) and
/// the minimized corpus (`fuzz/corpus/TARGET/`), each named `KIND/TARGET/FILE`, in name order.
public func fuzzInputs(_ target: String) -> [(name: String, data: Data)] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../fuzz")
    return ["regressions", "seeds", "corpus"].flatMap { kind -> [(name: String, data: Data)] in
        let dir = root.appendingPathComponent("\(kind)/\(target)").standardizedFileURL.path
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        return files.compactMap { f in FileManager.default.contents(atPath: "\(dir)/\(f)").map { ("\(kind)/\(target)/\(f)", $0) } }
    }
}
