import Foundation

/// Which files a job leaves under its `outputs/` folder become artifacts, and under what names.
public enum ArtifactCollector {
    /// Whether `name` is an artifact name the API accepts: relative, `/`-joined segments of
    /// `[A-Za-z0-9._-]`, none empty, `.` or `..`.
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), name.utf8.count <= 1024 else { return false }
        for seg in name.split(separator: "/", omittingEmptySubsequences: false) {
            if seg.isEmpty || seg == "." || seg == ".." { return false }
            for c in seg.utf8 {
                let ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 45
                if !ok { return false }
            }
        }
        return true
    }

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var path: String
        public var size: Int
    }

    /// Regular files under `root` (recursively, symbolic links neither followed nor uploaded), sorted
    /// by name. Files whose relative path is not a valid artifact name are returned in `skipped`.
    public static func collect(root: String) -> (entries: [Entry], skipped: [String]) {
        var entries: [Entry] = []
        var skipped: [String] = []
        let fm = FileManager.default
        func walk(_ dir: String, _ rel: String) {
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else { return }
            for n in names.sorted() {
                let full = dir + "/" + n
                let r = rel.isEmpty ? n : rel + "/" + n
                var st = stat()
                guard lstat(full, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: walk(full, r)
                case S_IFREG:
                    if isValidName(r) { entries.append(Entry(name: r, path: full, size: Int(st.st_size))) } else { skipped.append(r) }
                default: skipped.append(r)
                }
            }
        }
        walk(root, "")
        return (entries.sorted { $0.name < $1.name }, skipped)
    }
}
