import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs a program to completion off the cooperative thread pool (the coordinator under test
/// needs those threads to answer the program), output through temporary files.
func runProgram(_ exe: String, _ args: [String], stdin: Data? = nil, timeout: Double = 90) async throws
    -> (status: Int32, out: Data, err: Data) {
    let dir = tempDir("proc")
    let outPath = dir + "/out", errPath = dir + "/err", inPath = dir + "/in"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    _ = FileManager.default.createFile(atPath: inPath, contents: stdin ?? Data())
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try await withCheckedThrowingContinuation { cont in
        DispatchQueue.global().async {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = args
            p.standardOutput = FileHandle(forWritingAtPath: outPath)
            p.standardError = FileHandle(forWritingAtPath: errPath)
            p.standardInput = FileHandle(forReadingAtPath: inPath)
            do { try p.run() } catch { cont.resume(throwing: error); return }
            let pid = p.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { kill(pid, SIGKILL) }
            p.waitUntilExit()
            let out = FileManager.default.contents(atPath: outPath) ?? Data()
            let err = FileManager.default.contents(atPath: errPath) ?? Data()
            cont.resume(returning: (p.terminationStatus, out, err))
        }
    }
}

/// The first of these programs found on PATH (or as an absolute path).
func findProgram(_ names: [String]) -> String? {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
    for n in names {
        if n.hasPrefix("/") { if FileManager.default.isExecutableFile(atPath: n) { return n }; continue }
        for d in path where FileManager.default.isExecutableFile(atPath: d + "/" + n) { return d + "/" + n }
    }
    return nil
}

/// The repository's root (for results/).
let repoRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Headless Chromium from Debian's `chromium` package.
struct Browser {
    let exe: String

    static func find() -> Browser? {
        findProgram(["chromium", "chromium-browser", "/usr/bin/chromium", "google-chrome"]).map(Browser.init)
    }

    /// `budget`: milliseconds of virtual time the page's scripts get (timers run fast; network
    /// fetches pause the virtual clock).
    func args(_ profile: String, budget: Int = 3000) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-extensions", "--user-data-dir=" + profile, "--virtual-time-budget=\(budget)"]
    }

    /// The DOM after the page's scripts ran (serialized by the browser).
    func dumpDOM(_ url: String, budget: Int = 3000) async throws -> String {
        let profile = tempDir("chromium")
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let r = try await runProgram(exe, args(profile, budget: budget) + ["--dump-dom", url])
        guard r.status == 0 else {
            throw BrowserError(message: "chromium exited \(r.status): \(String(decoding: r.err.suffix(2000), as: UTF8.self))")
        }
        return String(decoding: r.out, as: UTF8.self)
    }

    func screenshot(_ url: String, to file: String, size: String = "1400,1900") async throws {
        let profile = tempDir("chromium")
        defer { try? FileManager.default.removeItem(atPath: profile) }
        try? FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let r = try await runProgram(exe, args(profile) + ["--hide-scrollbars", "--window-size=" + size, "--screenshot=" + file, url])
        guard r.status == 0, FileManager.default.fileExists(atPath: file) else {
            throw BrowserError(message: "chromium screenshot failed (\(r.status)): \(String(decoding: r.err.suffix(2000), as: UTF8.self))")
        }
    }
}

struct BrowserError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A URLSession that does not follow redirects (to look at the login's 303 and its cookie).
final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.httpCookieStorage = nil
        c.httpShouldSetCookies = false
        return URLSession(configuration: c, delegate: NoRedirects(), delegateQueue: nil)
    }()

    /// One request: status, headers (lower-cased names), body.
    static func get(_ url: String, cookie: String? = nil, method: String = "GET", body: String? = nil) async throws -> Reply {
        var r = URLRequest(url: URL(string: url)!)
        r.httpMethod = method
        if let cookie { r.setValue(cookie, forHTTPHeaderField: "Cookie") }
        if let body {
            r.httpBody = Data(body.utf8)
            r.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        let (d, resp) = try await session.data(for: r)
        let h = resp as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in h.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: h.statusCode, data: d, headers: headers)
    }
}
