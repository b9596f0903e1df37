// Checkpoint: a GPT saved as a Hugging Face GPT-2 directory (model.safetensors, config.json,
// tokenizer.json) that transformers' GPT2LMHeadModel.from_pretrained opens as it is.
// It is not an optimizer-state snapshot, and it never parses the tokenizer: those bytes are opaque.
import Foundation
import LabCore

/// What `Checkpoint.load` returns: either all of it, or an error and nothing.
public struct LoadedCheckpoint {
    public let config: GPTConfig
    /// (N) parameters laid out by `ParameterLayout(config)`.
    public let parameters: FloatBuffer
    /// The bytes of tokenizer.json, if the directory has one.
    public let tokenizerJSON: Data?
    /// The training step recorded by `save`, if any.
    public let step: Int?
    public let metadata: [String: String]

    public var layout: ParameterLayout { ParameterLayout(config) }
}

/// Saves and loads checkpoint directories. The slab is written tensor by tensor under Hugging
/// Face GPT-2 names; linear weights are (in, out) as Conv1D stores them, so no transposes.
public enum Checkpoint {
    public static let modelFile = "model.safetensors"
    public static let configFile = "config.json"
    public static let tokenizerFile = "tokenizer.json"
    /// Version of the `distill_lab` section in config.json; bumped when its meaning changes.
    public static let formatVersion = 1

    // MARK: save

    /// Writes a complete checkpoint into a temporary sibling directory, then renames it over
    /// `directory`. An existing checkpoint there is replaced only after the new one is complete;
    /// a directory that is not a checkpoint is never replaced.
    public static func save(
        directory: URL, config: GPTConfig, layout: ParameterLayout, parameters: UnsafeBufferPointer<Float>,
        tokenizerJSON: Data?, step: Int? = nil, metadata: [String: String] = [:]
    ) throws {
        try config.validate()
        // Mismatches here are the caller's bug (the slab comes from the same layout), not input.
        precondition(layout.config == config, "Checkpoint.save: layout was built for \(layout.config), not \(config)")
        precondition(
            parameters.count == layout.count,
            "Checkpoint.save: \(parameters.count) parameters for a layout of \(layout.count)")

        let fm = FileManager.default
        let target = directory.standardizedFileURL
        let parent = target.deletingLastPathComponent()
        let name = target.lastPathComponent
        try refuseToReplaceNonCheckpoint(target)
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw LabError.file(
                path: parent.path,
                message: "cannot create the checkpoint's parent directory (\(error.localizedDescription))")
        }

        // A sibling, so the final rename stays on one file system and is a rename, not a copy.
        let staging = parent.appendingPathComponent(".\(name).partial-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw LabError.file(
                path: parent.path,
                message:
                    "cannot create a temporary directory next to the checkpoint (\(error.localizedDescription)); check that it is writable"
            )
        }
        var committed = false
        defer { if !committed { try? fm.removeItem(at: staging) } }

        let tensors = layout.tensors.map { spec in
            SafeTensors.Tensor(
                name: spec.name, shape: spec.shape,
                values: UnsafeBufferPointer(rebasing: parameters[spec.offset..<spec.offset + spec.count]))
        }
        // transformers refuses safetensors files whose metadata lacks format "pt".
        try SafeTensors.write(tensors, metadata: ["format": "pt"], to: staging.appendingPathComponent(modelFile))
        try writeFile(
            configJSON(config: config, step: step, metadata: metadata), to: staging.appendingPathComponent(configFile))
        if let tokenizerJSON {
            try writeFile(tokenizerJSON, to: staging.appendingPathComponent(tokenizerFile))
        }

        if fm.fileExists(atPath: target.path) {
            // Two renames: at every moment one complete checkpoint exists, at `target` or `retired`.
            let retired = parent.appendingPathComponent(".\(name).old-\(UUID().uuidString)")
            do {
                try fm.moveItem(at: target, to: retired)
            } catch {
                throw LabError.file(
                    path: target.path,
                    message: "cannot move the old checkpoint aside (\(error.localizedDescription)); it is unchanged")
            }
            do {
                try fm.moveItem(at: staging, to: target)
            } catch {
                try? fm.moveItem(at: retired, to: target)
                throw LabError.file(
                    path: target.path,
                    message:
                        "cannot rename the new checkpoint into place (\(error.localizedDescription)); the old one was restored"
                )
            }
            committed = true
            try? fm.removeItem(at: retired)
        } else {
            do {
                try fm.moveItem(at: staging, to: target)
            } catch {
                throw LabError.file(
                    path: target.path,
                    message: "cannot rename the new checkpoint into place (\(error.localizedDescription))")
            }
            committed = true
        }
    }

    /// Convenience for the usual case of a slab held in a `FloatBuffer`.
    public static func save(
        directory: URL, config: GPTConfig, layout: ParameterLayout, parameters: FloatBuffer,
        tokenizerJSON: Data?, step: Int? = nil, metadata: [String: String] = [:]
    ) throws {
        try save(
            directory: directory, config: config, layout: layout, parameters: UnsafeBufferPointer(parameters.buffer),
            tokenizerJSON: tokenizerJSON, step: step, metadata: metadata)
    }

    /// Saving over a user's unrelated directory would delete it; only empty directories and
    /// earlier checkpoints (recognised by their config.json) may be replaced.
    private static func refuseToReplaceNonCheckpoint(_ target: URL) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: target.path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else {
            throw LabError.file(
                path: target.path,
                message: "exists and is a file; a checkpoint is a directory: choose another path or remove the file")
        }
        let contents = (try? fm.contentsOfDirectory(atPath: target.path)) ?? []
        if !contents.isEmpty && !contents.contains(configFile) {
            throw LabError.file(
                path: target.path,
                message:
                    "exists and is not a checkpoint (it has no \(configFile)); refusing to replace it: choose another directory or remove it"
            )
        }
    }

    private static func writeFile(_ data: Data, to url: URL) throws {
        do {
            try data.write(to: url)
        } catch {
            throw LabError.file(
                path: url.path,
                message: "cannot be written (\(error.localizedDescription)); check free space and permissions")
        }
    }

    /// config.json: the keys transformers' GPT2Config reads, with the values that describe this
    /// lab's model exactly (tanh GELU, eps 1e-5, tied unembedding, no dropout at inference).
    static func configJSON(config: GPTConfig, step: Int?, metadata: [String: String]) throws -> Data {
        let file = GPT2ConfigFile(
            config: config, lab: .init(formatVersion: formatVersion, step: step, metadata: metadata))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(file)
    }

    // MARK: load

    /// Loads a checkpoint directory written by `save` or by transformers' `save_pretrained`
    /// (float32, float16 or bfloat16; with or without the "transformer." name prefix).
    public static func load(directory: URL) throws -> LoadedCheckpoint {
        let fm = FileManager.default
        let dir = directory.standardizedFileURL
        var isDirectory: ObjCBool = false
        try FileRead.checkPermissions(dir.path, what: "the checkpoint directory")
        guard fm.fileExists(atPath: dir.path, isDirectory: &isDirectory) else {
            throw LabError.file(
                path: dir.path,
                message:
                    "checkpoint directory does not exist; check the path (a checkpoint is a directory holding \(configFile) and \(modelFile))"
            )
        }
        guard isDirectory.boolValue else {
            throw LabError.file(
                path: dir.path,
                message:
                    "is a file; a checkpoint is a directory holding \(configFile) and \(modelFile): pass that directory"
            )
        }

        let configURL = dir.appendingPathComponent(configFile)
        guard fm.fileExists(atPath: configURL.path) else {
            throw LabError.file(
                path: configURL.path,
                message:
                    "is missing; a checkpoint directory holds \(configFile), \(modelFile) and optionally \(tokenizerFile)"
            )
        }
        let (config, lab) = try parseConfig(at: configURL)

        let modelURL = dir.appendingPathComponent(modelFile)
        guard fm.fileExists(atPath: modelURL.path) else {
            let hint: String
            if fm.fileExists(atPath: dir.appendingPathComponent("model.safetensors.index.json").path) {
                hint =
                    "the model is sharded, which is not supported: re-save it in one file with save_pretrained(dir, max_shard_size=\"100GB\")"
            } else if fm.fileExists(atPath: dir.appendingPathComponent("pytorch_model.bin").path) {
                hint = "only pytorch_model.bin is present: re-save with save_pretrained(dir, safe_serialization=True)"
            } else {
                hint = "a checkpoint directory holds \(configFile), \(modelFile) and optionally \(tokenizerFile)"
            }
            throw LabError.file(path: modelURL.path, message: "is missing; \(hint)")
        }
        let file = try SafeTensorsFile(contentsOf: modelURL, deferringTilingCheck: true)
        let parameters = try readParameters(file, config: config)

        var tokenizerJSON: Data?
        let tokenizerURL = dir.appendingPathComponent(tokenizerFile)
        if fm.fileExists(atPath: tokenizerURL.path) {
            tokenizerJSON = try FileRead.data(
                tokenizerURL.path, what: "the tokenizer file", fix: "re-save the checkpoint")
        }
        return LoadedCheckpoint(
            config: config, parameters: parameters, tokenizerJSON: tokenizerJSON,
            step: lab?.step, metadata: lab?.metadata ?? [:])
    }

    /// Every layout tensor, found under its name or its name without "transformer.", copied
    /// into a fresh slab. The slab is returned only once every tensor has been copied.
    private static func readParameters(_ file: SafeTensorsFile, config: GPTConfig) throws -> FloatBuffer {
        let layout = ParameterLayout(config)
        var stored: [String: String] = [:]  // layout name -> name in the file
        for entry in file.entries {
            guard let canonical = canonicalName(entry.name) else { continue }
            guard layout.tensor(named: canonical) != nil else {
                throw LabError.checkpoint(
                    path: file.path, tensor: entry.name,
                    message:
                        "is not part of a GPT-2 with \(config.layers) layers; the checkpoint is from another architecture or its config.json n_layer is wrong"
                )
            }
            if let other = stored[canonical] {
                throw LabError.checkpoint(
                    path: file.path, tensor: entry.name,
                    message: "is stored twice (also as '\(other)'); keep one of the two names")
            }
            stored[canonical] = entry.name
        }
        let parameters = FloatBuffer(count: layout.count)
        for spec in layout.tensors {
            guard let storedName = stored[spec.name], let entry = file.entry(named: storedName) else {
                throw LabError.checkpoint(
                    path: file.path, tensor: spec.name,
                    message: "is missing; the file does not hold a complete GPT-2 of the shape config.json describes")
            }
            guard entry.shape == spec.shape else {
                throw LabError.checkpoint(
                    path: file.path, tensor: storedName,
                    message:
                        "has shape \(entry.shape) but config.json (n_embd \(config.width), n_layer \(config.layers), vocab_size \(config.vocabularySize), n_positions \(config.contextLength)) implies \(spec.shape); the config does not match the weights"
                )
            }
            try file.read(
                storedName, into: UnsafeMutableBufferPointer(start: parameters.at(spec.offset), count: spec.count))
            // NaN or infinite weights would make every loss and sample NaN without an error.
            for i in 0..<spec.count where !parameters.at(spec.offset + i).pointee.isFinite {
                throw LabError.checkpoint(
                    path: file.path, tensor: storedName,
                    message:
                        "holds NaN or infinity (element \(i)); the checkpoint is corrupt or training diverged: use an earlier checkpoint"
                )
            }
        }
        // Every expected tensor is present: bytes left uncovered mean a corrupt header or appended data.
        try file.checkTiling()
        return parameters
    }

    /// The layout name for a stored name, or nil for tensors Hugging Face saves that carry no
    /// parameters here: the tied lm_head (a copy of wte) and the causal-mask buffers.
    static func canonicalName(_ name: String) -> String? {
        if name == "lm_head.weight" { return nil }
        let full = name.hasPrefix("transformer.") ? name : "transformer." + name
        let parts = full.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 5, parts[1] == "h", Int(parts[2]) != nil, parts[3] == "attn",
            parts[4] == "bias" || parts[4] == "masked_bias"
        {
            return nil
        }
        return full
    }

    /// Reads config.json into a validated `GPTConfig`, refusing settings this lab's model does
    /// not compute (so a Hugging Face model is never silently run with different math).
    private static func parseConfig(at url: URL) throws -> (GPTConfig, GPT2ConfigFile.Lab?) {
        let path = url.path
        let raw: GPT2ConfigFile.Read
        do {
            raw = try JSONDecoder().decode(
                GPT2ConfigFile.Read.self,
                from: FileRead.data(path, what: "config.json", fix: "a checkpoint directory holds config.json"))
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw LabError.file(
                path: path,
                message: "key '\(key)' must be \(type == Int.self ? "an integer" : "a \(type)"); fix the value")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw LabError.file(
                path: path,
                message:
                    "key '\(key)' has a value of the wrong type (a fraction where an integer belongs?); fix the value")
        } catch is DecodingError {
            throw LabError.file(
                path: path, message: "is not a valid JSON object; it is corrupt: restore it or re-save the checkpoint")
        } catch let error as LabError {
            throw error
        } catch {
            throw LabError.file(
                path: path, message: "cannot be read (\(error.localizedDescription)); check its permissions")
        }

        func fail(_ key: String, _ message: String) -> LabError {
            .file(path: path, message: "key '\(key)' \(message)")
        }
        guard let modelType = raw.modelType else {
            throw fail("model_type", "is missing; this lab loads GPT-2 checkpoints (\"gpt2\")")
        }
        guard modelType == "gpt2" else {
            throw fail("model_type", "is \"\(modelType)\"; only \"gpt2\" checkpoints can be loaded")
        }
        let activation = raw.activationFunction ?? "gelu_new"  // GPT2Config's default
        guard ["gelu_new", "gelu_pytorch_tanh"].contains(activation) else {
            throw fail(
                "activation_function",
                "is \"\(activation)\"; this lab's GPT computes the tanh GELU (\"gelu_new\" or \"gelu_pytorch_tanh\")")
        }
        let epsilon = raw.layerNormEpsilon ?? 1e-5
        // GPTConfig.layerNormEpsilon is the Float nearest 1e-5; accept either spelling of it.
        guard abs(epsilon - 1e-5) <= 1e-11 else {
            throw fail(
                "layer_norm_epsilon",
                "is \(epsilon); this lab's layer norm uses 1e-5, so the model would compute different outputs")
        }
        if raw.tieWordEmbeddings == false {
            throw fail(
                "tie_word_embeddings",
                "is false; this lab's GPT unembeds with wte, so an untied lm_head.weight would be ignored")
        }
        if raw.scaleAttnWeights == false {
            throw fail("scale_attn_weights", "is false; this lab scales attention scores by 1/sqrt(head size)")
        }
        if raw.scaleAttnByInverseLayerIdx == true {
            throw fail("scale_attn_by_inverse_layer_idx", "is true; this lab does not scale attention by layer index")
        }
        guard let vocabularySize = raw.vocabularySize else { throw fail("vocab_size", "is missing") }
        guard let contextLength = raw.nPositions ?? raw.nCtx else { throw fail("n_positions", "is missing") }
        guard let width = raw.nEmbd else { throw fail("n_embd", "is missing") }
        guard let layers = raw.nLayer else { throw fail("n_layer", "is missing") }
        guard let heads = raw.nHead else { throw fail("n_head", "is missing") }
        if let inner = raw.nInner, inner != 4 * width {
            throw fail("n_inner", "is \(inner); this lab's MLP is 4 × n_embd = \(4 * width) wide (set it to null)")
        }
        let config = GPTConfig(
            vocabularySize: vocabularySize, contextLength: contextLength, width: width, layers: layers, heads: heads)
        do {
            try config.validate()
        } catch let LabError.invalidConfig(key, message) {
            // Name the key as config.json spells it, not as GPTConfig does.
            let names = [
                "vocab_size": "vocab_size", "context_length": "n_positions", "width": "n_embd", "layers": "n_layer",
                "heads": "n_head",
            ]
            throw fail(names[key] ?? key, message)
        }
        if let lab = raw.distillLab, let version = lab.formatVersion, version > formatVersion {
            throw fail(
                "distill_lab.format_version",
                "is \(version) but this build reads up to \(formatVersion); update DistillLab")
        }
        return (config, raw.distillLab)
    }
}

/// The config.json file, as written by `save` and as much of it as `load` reads. Keys and
/// defaults follow transformers' GPT2Config; `distill_lab` is ours and ignored by transformers.
struct GPT2ConfigFile: Encodable {
    struct Lab: Codable {
        var formatVersion: Int?
        var step: Int?
        var metadata: [String: String]?
        enum CodingKeys: String, CodingKey { case formatVersion = "format_version", step, metadata }
    }

    let config: GPTConfig
    let lab: Lab

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", architectures, vocabularySize = "vocab_size", nPositions = "n_positions", nCtx =
            "n_ctx"
        case nEmbd = "n_embd", nLayer = "n_layer", nHead = "n_head", nInner = "n_inner"
        case layerNormEpsilon = "layer_norm_epsilon", activationFunction = "activation_function"
        case residPdrop = "resid_pdrop", embdPdrop = "embd_pdrop", attnPdrop = "attn_pdrop"
        case tieWordEmbeddings = "tie_word_embeddings", scaleAttnWeights = "scale_attn_weights"
        case scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
        case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", distillLab = "distill_lab"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("gpt2", forKey: .modelType)
        try c.encode(["GPT2LMHeadModel"], forKey: .architectures)
        try c.encode(config.vocabularySize, forKey: .vocabularySize)
        try c.encode(config.contextLength, forKey: .nPositions)
        try c.encode(config.contextLength, forKey: .nCtx)
        try c.encode(config.width, forKey: .nEmbd)
        try c.encode(config.layers, forKey: .nLayer)
        try c.encode(config.heads, forKey: .nHead)
        try c.encodeNil(forKey: .nInner)  // null means 4 × n_embd in GPT2Config
        // The Double literal, not Double(GPTConfig.layerNormEpsilon), which would print as 9.99999974738e-06.
        try c.encode(1e-5, forKey: .layerNormEpsilon)
        try c.encode("gelu_new", forKey: .activationFunction)
        // Dropout is a training-time choice of whoever fine-tunes next; the lab trains without it.
        try c.encode(0.0, forKey: .residPdrop)
        try c.encode(0.0, forKey: .embdPdrop)
        try c.encode(0.0, forKey: .attnPdrop)
        try c.encode(true, forKey: .tieWordEmbeddings)
        try c.encode(true, forKey: .scaleAttnWeights)
        try c.encode(false, forKey: .scaleAttnByInverseLayerIdx)
        try c.encode(0, forKey: .bosTokenId)
        try c.encode(0, forKey: .eosTokenId)
        try c.encode(lab, forKey: .distillLab)
    }

    /// The keys `load` checks; the many other keys transformers writes are ignored.
    struct Read: Decodable {
        var modelType: String?
        var vocabularySize, nPositions, nCtx, nEmbd, nLayer, nHead, nInner: Int?
        var layerNormEpsilon: Double?
        var activationFunction: String?
        var tieWordEmbeddings, scaleAttnWeights, scaleAttnByInverseLayerIdx: Bool?
        var distillLab: Lab?

        enum CodingKeys: String, CodingKey {
            case modelType = "model_type", vocabularySize = "vocab_size", nPositions = "n_positions", nCtx = "n_ctx"
            case nEmbd = "n_embd", nLayer = "n_layer", nHead = "n_head", nInner = "n_inner"
            case layerNormEpsilon = "layer_norm_epsilon", activationFunction = "activation_function"
            case tieWordEmbeddings = "tie_word_embeddings", scaleAttnWeights = "scale_attn_weights"
            case scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx", distillLab = "distill_lab"
        }
    }
}
