/// A container image reference as podman and docker read it: `[registry[:port]/]path[:tag][@digest]`,
/// e.g. `debian:12`, `localhost/tools:1.2`, `registry.example:5000/lab/sim@sha256:…`. The grammar is
/// the one of the distribution project's `reference` package: path components are lowercase
/// letters and digits joined by `.`, `_`, `__` or dashes; a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`;
/// a digest is `algorithm:hex` with at least 32 hex digits; the name is at most 255 characters.
/// Checked where a job is submitted, so a worker never hands podman an argument that could read
/// as an option (`--privileged`) or a reference it would refuse.
public enum ImageReference {
    /// Why `s` is not a valid reference, or nil when it is. O(length).
    public static func problem(_ s: String) -> String? {
        guard !s.isEmpty else { return "the image reference is empty" }
        guard s.count <= 512 else { return "the image reference is longer than 512 characters" }
        guard s.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }) else {
            return "the image reference '\(s)' has spaces or characters outside printable ASCII"
        }
        var rest = Substring(s)
        if let at = rest.firstIndex(of: "@") {
            if let why = digestProblem(rest[rest.index(after: at)...]) { return "image '\(s)': \(why)" }
            rest = rest[..<at]
        }
        // A tag's colon is one after the last slash (a colon before it belongs to a registry port).
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let tag = rest[rest.index(after: colon)...]
            if let why = tagProblem(tag) { return "image '\(s)': \(why)" }
            rest = rest[..<colon]
        }
        guard !rest.isEmpty else { return "image '\(s)': the name is missing" }
        guard rest.count <= 255 else { return "image '\(s)': the name is longer than 255 characters" }
        var parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count > 1, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" || parts[0].contains(where: \.isUppercase) {
            if let why = domainProblem(parts[0]) { return "image '\(s)': \(why)" }
            parts.removeFirst()
        }
        for p in parts {
            if let why = pathComponentProblem(p) { return "image '\(s)': \(why)" }
        }
        return nil
    }

    static func isLowerAlnum(_ c: Character) -> Bool { c.isASCII && (c.isNumber || (c.isLetter && c.isLowercase)) }

    /// `[a-z0-9]+ ([._]|__|-+ [a-z0-9]+)*`
    static func pathComponentProblem(_ p: Substring) -> String? {
        guard !p.isEmpty else { return "an empty path component (`//`, or a leading or trailing `/`)" }
        let bad = "path component '\(p)' must be lowercase letters and digits, joined by '.', '_', '__' or '-'"
        guard let f = p.first, let l = p.last, isLowerAlnum(f), isLowerAlnum(l) else { return bad }
        var sep = ""
        for c in p {
            if isLowerAlnum(c) {
                if !(sep.isEmpty || sep == "." || sep == "_" || sep == "__" || sep.allSatisfy({ $0 == "-" })) { return bad }
                sep = ""
            } else if c == "." || c == "_" || c == "-" {
                sep.append(c)
            } else {
                return bad
            }
        }
        return nil
    }

    /// `host[:port]`, host being dot-separated `[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?`.
    static func domainProblem(_ d: Substring) -> String? {
        var host = d
        if let colon = d.firstIndex(of: ":") {
            let port = d[d.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return "registry '\(d)': the port must be a number"
            }
            host = d[..<colon]
        }
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            guard let f = label.first, let l = label.last, f.isASCII && (f.isLetter || f.isNumber), l.isASCII && (l.isLetter || l.isNumber),
                  label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                return "registry '\(d)' is not a host name (letters, digits, '-' and '.') with an optional :port"
            }
        }
        return nil
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
    static func tagProblem(_ t: Substring) -> String? {
        func word(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        guard let f = t.first, word(f), t.count <= 128, t.allSatisfy({ word($0) || $0 == "." || $0 == "-" }) else {
            return "tag '\(t)' must be 1–128 of [A-Za-z0-9_.-], not starting with '.' or '-'"
        }
        return nil
    }

    /// `algorithm:hex`, algorithm `[A-Za-z][A-Za-z0-9]*` components joined by `+ . _ -`, hex 32+ digits.
    static func digestProblem(_ d: Substring) -> String? {
        let bad = "digest '\(d)' must be algorithm:hex (e.g. sha256: and 64 hex digits)"
        guard let colon = d.firstIndex(of: ":") else { return bad }
        let algo = d[..<colon], hex = d[d.index(after: colon)...]
        for comp in algo.split(whereSeparator: { "+._-".contains($0) }) {
            guard let f = comp.first, f.isASCII && f.isLetter, comp.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return bad }
        }
        guard !algo.isEmpty, let af = algo.first, af.isLetter, let al = algo.last, al.isLetter || al.isNumber else { return bad }
        guard hex.count >= 32, hex.allSatisfy(\.isHexDigit) else { return bad }
        return nil
    }
}
