import Foundation

/// Where the coordinator is and which token to present, resolved from (highest first) command-line
/// flags, the environment (`DEBORGEN_URL`, `DEBORGEN_TOKEN`) and the config file
/// (`~/.config/deborgen/config.json`, `{"url": "...", "token": "..."}`). Each field is resolved
/// on its own, so a flag may give the URL while the file gives the token.
public struct ClientConfig: Sendable, Equatable {
    public var url: String
    public var token: String
    /// Where each value came from ("flag", "environment", path of the file), for error messages.
    public var urlSource: String
    public var tokenSource: String

    public struct File: Codable, Sendable, Equatable {
        public var url: String?
        public var token: String?
        public init(url: String? = nil, token: String? = nil) { self.url = url; self.token = token }
    }

    public enum Problem: Error, CustomStringConvertible, Equatable {
        case missingURL, missingToken(url: String), badFile(path: String, why: String)
        public var description: String {
            switch self {
            case .missingURL:
                return "no coordinator URL: pass --coordinator http://HOST:PORT, set DEBORGEN_URL, or put {\"url\": ..., \"token\": ...} in ~/.config/deborgen/config.json (`deborgen up` starts a local one and prints both)."
            case .missingToken(let url):
                return "no token for \(url): pass --token, set DEBORGEN_TOKEN, or add \"token\" to ~/.config/deborgen/config.json; the operator creates one with `deborgen token create --role submitter --name YOU --data-dir DIR`."
            case .badFile(let path, let why):
                return "cannot read the config file \(path): \(why)"
            }
        }
    }

    /// The default config file path: `$XDG_CONFIG_HOME/deborgen/config.json`, else `~/.config/...`.
    public static func defaultPath(environment env: [String: String]) -> String {
        if let x = env["XDG_CONFIG_HOME"], !x.isEmpty { return x + "/deborgen/config.json" }
        let home = env["HOME"] ?? NSHomeDirectory()
        return home + "/.config/deborgen/config.json"
    }

    /// Pure resolution: flags beat the environment, which beats the file. Empty strings count as absent.
    public static func resolve(flagURL: String?, flagToken: String?, environment env: [String: String],
                               file: File?, filePath: String) throws -> ClientConfig {
        func pick(_ flag: String?, _ envKey: String, _ fileValue: String?) -> (String, String)? {
            if let f = flag, !f.isEmpty { return (f, "flag") }
            if let e = env[envKey], !e.isEmpty { return (e, "environment \(envKey)") }
            if let v = fileValue, !v.isEmpty { return (v, filePath) }
            return nil
        }
        guard let (url, us) = pick(flagURL, "DEBORGEN_URL", file?.url) else { throw Problem.missingURL }
        guard let (token, ts) = pick(flagToken, "DEBORGEN_TOKEN", file?.token) else { throw Problem.missingToken(url: url) }
        return ClientConfig(url: url, token: token, urlSource: us, tokenSource: ts)
    }

    /// Reads the file (if any) and the process environment, then `resolve`s.
    public static func load(flagURL: String?, flagToken: String?, configPath: String? = nil,
                            environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> ClientConfig {
        let path = configPath ?? env["DEBORGEN_CONFIG"] ?? defaultPath(environment: env)
        var file: File?
        if FileManager.default.fileExists(atPath: path) {
            do {
                file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            } catch { throw Problem.badFile(path: path, why: "\(error)") }
        } else if configPath != nil {
            throw Problem.badFile(path: path, why: "no such file")
        }
        return try resolve(flagURL: flagURL, flagToken: flagToken, environment: env, file: file, filePath: path)
    }
}
