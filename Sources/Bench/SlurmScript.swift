import Foundation

/// A Slurm job-array script that runs an experiment as `shards` shards, one array task each
/// (`#SBATCH --array=1-N`; task `i` runs `deborgen bench run FILE --shard i/N`), with the
/// merge command to run once every task has finished. Paths are made absolute when the script
/// is generated, so it can be submitted from anywhere on a shared file system.
public struct SlurmScript: Sendable {
    /// The `deborgen` executable the tasks run.
    public var executable: String
    public var experimentFile: String
    public var experimentName: String
    public var shards: Int
    /// `--root` of the tasks and of the merge.
    public var root: String
    /// `--shard-dir` of the tasks and `--shards` of the merge; nil: the default under the root.
    public var shardDirectory: String?
    public var cpusPerTask: Int
    /// `#SBATCH --time` (e.g. `2:00:00`), when given.
    public var timeLimit: String?
    public var partition: String?

    public init(executable: String, experimentFile: String, experimentName: String, shards: Int, root: String,
                shardDirectory: String? = nil, cpusPerTask: Int = 1, timeLimit: String? = nil, partition: String? = nil) {
        self.executable = Self.absolute(executable)
        self.experimentFile = Self.absolute(experimentFile)
        self.experimentName = experimentName
        self.shards = shards
        self.root = Self.absolute(root)
        self.shardDirectory = shardDirectory.map(Self.absolute)
        self.cpusPerTask = cpusPerTask
        self.timeLimit = timeLimit
        self.partition = partition
    }

    static func absolute(_ p: String) -> String {
        let full = p.hasPrefix("/") ? p : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(p)
        return (full as NSString).standardizingPath
    }

    /// A word for `sh`: single-quoted unless it is plainly safe.
    public static func quote(_ s: String) -> String {
        let safe = !s.isEmpty && s.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "/._-+=:,@%".unicodeScalars.contains($0) }
        return safe ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The command that merges the shards once all tasks are done.
    public var mergeCommand: String {
        var words = [executable, "bench", "merge", experimentFile, "--root", root]
        if let shardDirectory { words += ["--shards", shardDirectory] }
        return words.map(Self.quote).joined(separator: " ")
    }

    /// The script's text.
    public var text: String {
        let q = Self.quote
        var s = "#!/bin/bash\n"
        s += "# deborgen experiment '\(experimentName)' as a Slurm job array: \(shards) shards, one array task each.\n"
        s += "# Submit it:                 sbatch THIS_FILE\n"
        s += "# Merge when all are done:   \(mergeCommand)\n"
        s += "#   (or chain it: sbatch --dependency=afterok:JOBID --wrap \"\(mergeCommand.replacingOccurrences(of: "\"", with: "\\\""))\")\n"
        s += "# A task that was killed resumes where it stopped when resubmitted: sbatch --array=I THIS_FILE\n"
        s += "#SBATCH --job-name=deborgen-\(experimentName)\n"
        s += "#SBATCH --array=1-\(shards)\n"
        s += "#SBATCH --cpus-per-task=\(cpusPerTask)\n"
        if let timeLimit { s += "#SBATCH --time=\(timeLimit)\n" }
        if let partition { s += "#SBATCH --partition=\(partition)\n" }
        // sbatch reads #SBATCH values without shell quoting.
        s += "#SBATCH --output=\(root)/slurm-%A_%a.out\n"
        s += "set -euo pipefail\n"
        s += ": \"${SLURM_ARRAY_TASK_ID:?run this script with sbatch (or set SLURM_ARRAY_TASK_ID to 1..\(shards))}\"\n"
        var words = [q(executable), "bench", "run", q(experimentFile), "--shard", "\"${SLURM_ARRAY_TASK_ID}/\(shards)\"",
                     "--root", q(root), "--jobs", "\"${SLURM_CPUS_PER_TASK:-\(cpusPerTask)}\"", "--quiet"]
        if let shardDirectory { words += ["--shard-dir", q(shardDirectory)] }
        s += "exec " + words.joined(separator: " ") + "\n"
        return s
    }
}
