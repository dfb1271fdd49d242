import Foundation
import API

/// Logs and artifacts on disk under the data directory:
/// `jobs/<id>/log` and `jobs/<id>/artifacts/<name>`, uploads staged in `tmp/`.
/// Artifact names cannot leave their job's folder: names are checked segment by segment, and
/// every existing path component is checked with `lstat` so a symbolic link is never followed.
public struct FileStore: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root + "/jobs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
    }

    func jobDir(_ id: Int) -> String { "\(root)/jobs/\(id)" }
    func logPath(_ id: Int) -> String { jobDir(id) + "/log" }
    func artifactDir(_ id: Int) -> String { jobDir(id) + "/artifacts" }

    /// A fresh path for staging an upload.
    public func tempPath() -> String { "\(root)/tmp/\(UUID().uuidString)" }

    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".unicodeScalars)

    /// Checks an artifact name: relative, `/`-separated segments of `[A-Za-z0-9._-]`, no `.`,
    /// `..` or empty segment, no backslash, at most 512 bytes and 16 levels.
    public static func validateArtifactName(_ name: String) throws -> [String] {
        let field = "name"
        guard !name.isEmpty, name.utf8.count <= 512 else { throw APIError.invalid(field, "artifact name must be 1–512 bytes") }
        guard !name.hasPrefix("/") else { throw APIError.invalid(field, "artifact name '\(name)' is absolute") }
        guard !name.contains("\\") else { throw APIError.invalid(field, "artifact name '\(name)' contains a backslash") }
        let segs = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard segs.count <= 16 else { throw APIError.invalid(field, "artifact name '\(name)' is nested too deep") }
        for s in segs {
            guard !s.isEmpty else { throw APIError.invalid(field, "artifact name '\(name)' has an empty segment") }
            guard s != "." && s != ".." else { throw APIError.invalid(field, "artifact name '\(name)' contains '\(s)'") }
            guard s.unicodeScalars.allSatisfy({ nameCharacters.contains($0) }) else {
                throw APIError.invalid(field, "artifact name '\(name)' has characters outside [A-Za-z0-9._-]")
            }
        }
        return segs
    }

    enum Kind { case missing, file, directory, other }

    static func kind(_ path: String) -> Kind {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// Creates `dir/segs...` as real directories, refusing anything else in the way.
    func makeDirectories(_ base: String, _ segs: ArraySlice<String>) throws -> String {
        var path = base
        if Self.kind(path) == .missing { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        guard Self.kind(path) == .directory else { throw APIError.invalid("name", "artifact folder is not a directory") }
        for s in segs {
            path += "/" + s
            switch Self.kind(path) {
            case .directory: continue
            case .missing: guard mkdir(path, 0o755) == 0 || Self.kind(path) == .directory else {
                throw APIError.internalError("cannot create \(path)")
            }
            default: throw APIError.invalid("name", "artifact path component '\(s)' is not a directory")
            }
        }
        return path
    }

    /// Moves a staged upload into place as the job's artifact `name` (replacing a file of that name).
    public func placeArtifact(job: Int, name: String, from staged: String) throws {
        let segs = try Self.validateArtifactName(name)
        let dir = try makeDirectories(artifactDir(job), segs.dropLast())
        let dest = dir + "/" + segs.last!
        switch Self.kind(dest) {
        case .missing, .file: break
        default: throw APIError.invalid("name", "artifact '\(name)' exists and is not a regular file")
        }
        guard rename(staged, dest) == 0 else { throw APIError.internalError("cannot store artifact '\(name)'") }
    }

    /// The path of an artifact that is a regular file reached without symbolic links.
    public func artifactPath(job: Int, name: String) throws -> String {
        let segs = try Self.validateArtifactName(name)
        var path = artifactDir(job)
        guard Self.kind(path) == .directory else { throw APIError.notFound("job \(job) has no artifact '\(name)'") }
        for (i, s) in segs.enumerated() {
            path += "/" + s
            let k = Self.kind(path)
            if i == segs.count - 1 ? k != .file : k != .directory {
                throw APIError.notFound("job \(job) has no artifact '\(name)'")
            }
        }
        return path
    }

    /// Appends a log chunk unless the log would exceed `cap` bytes. Returns the new size.
    public func appendLog(job: Int, _ bytes: Data, cap: Int) throws -> Int {
        try FileManager.default.createDirectory(atPath: jobDir(job), withIntermediateDirectories: true)
        let fd = open(logPath(job), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw APIError.internalError("cannot open the log of job \(job)") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let size = Int(st.st_size)
        guard size + bytes.count <= cap else {
            throw APIError.tooLarge("the log of job \(job) would exceed its cap of \(cap) bytes (now \(size))")
        }
        try bytes.withUnsafeBytes { p in
            var off = 0
            while off < p.count {
                let n = write(fd, p.baseAddress! + off, p.count - off)
                guard n > 0 else { throw APIError.internalError("cannot write the log of job \(job)") }
                off += n
            }
        }
        return size + bytes.count
    }

    /// Log bytes from `offset` (at most `max`), and the total size.
    public func readLog(job: Int, offset: Int, max: Int) -> (Data, Int) {
        guard let h = FileHandle(forReadingAtPath: logPath(job)) else { return (Data(), 0) }
        defer { try? h.close() }
        let total = Int((try? h.seekToEnd()) ?? 0)
        guard offset < total else { return (Data(), total) }
        try? h.seek(toOffset: UInt64(offset))
        let d = (try? h.read(upToCount: min(max, total - offset))) ?? Data()
        return (d ?? Data(), total)
    }

    /// Copies a job's log and artifacts to another job (result cache): hard links where possible.
    public func copyOutputs(from src: Int, to dst: Int) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: jobDir(dst), withIntermediateDirectories: true)
        if Self.kind(logPath(src)) == .file { try? fm.copyItem(atPath: logPath(src), toPath: logPath(dst)) }
        guard Self.kind(artifactDir(src)) == .directory else { return }
        try copyTree(artifactDir(src), artifactDir(dst))
    }

    private func copyTree(_ from: String, _ to: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: to, withIntermediateDirectories: true)
        for e in try fm.contentsOfDirectory(atPath: from) {
            let a = from + "/" + e, b = to + "/" + e
            switch Self.kind(a) {
            case .directory: try copyTree(a, b)
            case .file: if link(a, b) != 0 { try fm.copyItem(atPath: a, toPath: b) }
            default: continue
            }
        }
    }

    /// Removes a job's folder (a cached copy whose commit failed).
    public func removeJob(_ id: Int) { try? FileManager.default.removeItem(atPath: jobDir(id)) }
}
