import Policies
import API

extension CoordinatorCore {
    /// Calls the engine where the coordinator's own records say the call must succeed (the job
    /// runs, the node exists). A refusal means the two disagree — a bug, never a user's error —
    /// so it is not swallowed: it becomes an internal error naming the step and the engine's
    /// reason, which the shell logs and answers as a 500. Every caller makes the engine call
    /// before changing anything of its own, so the failed step leaves the core as it was.
    mutating func engine<T>(_ step: @autoclosure () -> String,
                            _ call: (inout ClusterState) throws -> T) throws(APIError) -> T {
        do {
            return try call(&cluster)
        } catch {
            throw APIError.internalError("\(step()): the scheduling engine refused (\(error)); coordinator and engine disagree, nothing was changed")
        }
    }
}
