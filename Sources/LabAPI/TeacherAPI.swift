// TeacherAPI: the one door through which the simulation reaches a teacher — logits for batches of
// prompts, and KV-cached decoding whose every draw the caller makes. Query kinds, defences, policy and
// billing are built on top of it once (TeacherAPI+Serving.swift, DefendedAPI), not per teacher.
import LabModel

/// Picks the next token of every sequence that draws at one decoding step. `sequences` are indices into
/// the decode call's prompts (ascending), `contexts[j]` the tokens so far of `sequences[j]` (prompt plus
/// generated), `rows[j]` its V next-token logits (scratch: the chooser may overwrite them). Returns one
/// token per listed sequence.
public typealias StepChooser = (_ sequences: [Int], _ contexts: [[Int32]], _ rows: [UnsafeMutablePointer<Float>]) throws
    -> [Int32]

/// A teacher model as the API sees it. `GPTTeacher` serves a trained GPT; `BigramTeacher` a fixed
/// table, small and exact enough for tests of everything built on top.
public protocol TeacherAPI: AnyObject {
    /// V, the number of token ids.
    var vocabularySize: Int { get }
    /// T, the most positions one sequence may have (prompt plus generated tokens).
    var contextLength: Int { get }
    /// FLOPs to run the teacher over the first `positions` positions of one sequence: what the ledger
    /// records as served, whatever padding or batching the teacher used to compute it.
    func inferenceFlops(positions: Int) -> Double
    /// The logits at every position of each prompt, batched as the teacher sees fit: element b holds
    /// (prompts[b].count, V) floats row-major, and row t scores the token after prompts[b][t].
    func logits(prompts: [[Int32]]) throws -> [[Float]]
    /// Generates up to `maxNewTokens` tokens after each prompt (every prompt + `maxNewTokens` must fit
    /// in `contextLength`), calling `choose` once per step with the sequences that draw at that step.
    /// A sequence ends after `maxNewTokens` tokens; the caller truncates any it wants shorter.
    func decode(prompts: [[Int32]], maxNewTokens: Int, choose: StepChooser) throws -> [[Int32]]
}
