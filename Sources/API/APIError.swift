/// An error the API answers with: an HTTP status, a stable code, a message naming the problem,
/// and the offending field when there is one. Thrown before any state changes.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String
    public var field: String?

    public init(_ status: Int, _ code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(status) \(code): \(message)" }

    public static func invalid(_ field: String, _ message: String) -> APIError {
        APIError(400, "invalid_field", message, field: field)
    }
    public static func unknownField(_ field: String) -> APIError {
        APIError(400, "unknown_field", "unknown field '\(field)'", field: field)
    }
    public static func notFound(_ message: String) -> APIError { APIError(404, "not_found", message) }
    public static func conflict(_ message: String) -> APIError { APIError(409, "conflict", message) }
    public static func forbidden(_ message: String) -> APIError { APIError(403, "forbidden", message) }
    public static let unauthorized = APIError(401, "unauthorized", "missing or unknown bearer token")
    public static func tooLarge(_ message: String) -> APIError { APIError(413, "too_large", message) }
    public static func internalError(_ message: String) -> APIError { APIError(500, "internal", message) }
}
