// LabExperiments: experiment files (YAML, closed schema, located errors), grids of cells, the registry of
// experiment kinds that turn a cell into metrics and costs, the resumable and shardable runner, the teacher
// cache, and the writers of results (JSON, CSV, Markdown, SVG, HTML). Not a place for models or attacks:
// kinds call LabData and the simulation rooms; they hold no learning code of their own.
import Foundation

public enum LabVersion {
    /// The lab's version, written into every manifest.
    public static let string = "0.1.0"
}
