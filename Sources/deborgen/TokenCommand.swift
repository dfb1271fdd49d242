import ArgumentParser
import Foundation
import API
import Server

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke the coordinator's bearer tokens (stored hashed).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it (it is shown only once).")
        @Option(help: "What the token may do (docs/api.md).") var role: Role
        @Option(help: "Who holds it: the user name for a submitter, the worker's name for a worker.", transform: TokenName.parse)
        var name: TokenName
        @Option(help: "The coordinator's data folder.") var dataDir: String

        func run() throws {
            let t = try Tokens.create(dataDir: dataDir, name: name.text, role: role, now: wallClock())
            print(t)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (names and roles; never the tokens).")
        @Option(help: "The coordinator's data folder.") var dataDir: String
        func run() throws {
            let s = try Store(directory: dataDir)
            defer { s.close() }
            for t in try s.tokens() {
                print("\(t.id)\t\(t.role)\t\(t.name)\t\(Timestamp.format(t.createdAt))\(t.revoked ? "\trevoked" : "")")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke every token of a name (a running coordinator notices within 30 s).")
        @Option(help: "Token name.") var name: String
        @Option(help: "The coordinator's data folder.") var dataDir: String
        func run() throws {
            let s = try Store(directory: dataDir)
            defer { s.close() }
            print("revoked \(try s.revokeTokens(name: name)) token(s)")
        }
    }
}
