// CheckpointTests: safetensors + checkpoint directories, round trip bit-exact, and each kind of
// corruption answered by the typed error that names the file and tensor or key.
// Python parity (transformers loading our files) lives in scripts/check_hf_parity.py, not here.
import Foundation
import LabCore
import XCTest

@testable import LabModel

final class CheckpointTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("CheckpointTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    // MARK: helpers

    private let tiny = GPTConfig(vocabularySize: 11, contextLength: 7, width: 8, layers: 2, heads: 2)

    /// Random parameters, including negative zero and subnormals so "bit-exact" means bits.
    private func randomParameters(_ layout: ParameterLayout, seed: UInt64) -> FloatBuffer {
        var rng = LabRNG(seed: seed)
        let p = FloatBuffer(count: layout.count)
        for i in 0..<p.count { p[i] = Float(rng.normal()) }
        p[0] = -0.0
        p[1] = Float.leastNonzeroMagnitude
        p[2] = -Float.greatestFiniteMagnitude
        return p
    }

    private func saveTiny(_ name: String = "ckpt", config: GPTConfig? = nil, seed: UInt64 = 1) throws -> (
        URL, FloatBuffer
    ) {
        let config = config ?? tiny
        let layout = ParameterLayout(config)
        let params = randomParameters(layout, seed: seed)
        let dir = root.appendingPathComponent(name)
        try Checkpoint.save(
            directory: dir, config: config, layout: layout, parameters: params,
            tokenizerJSON: Data(#"{"opaque": "bytes \u00e9"}"#.utf8), step: 42,
            metadata: ["teacher": "tiny", "seed": "1"])
        return (dir, params)
    }

    /// Asserts `body` throws a LabError and returns it for case-specific checks.
    private func labError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> LabError? {
        do {
            try body()
            XCTFail("expected a LabError, got success", file: file, line: line)
        } catch let error as LabError {
            return error
        } catch {
            XCTFail("expected a LabError, got \(error)", file: file, line: line)
        }
        return nil
    }

    private func rewriteConfig(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent(Checkpoint.configFile)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    private func rewriteTensors(_ dir: URL, _ edit: (inout [(name: String, shape: [Int], values: [Float])]) -> Void)
        throws
    {
        let url = dir.appendingPathComponent(Checkpoint.modelFile)
        let file = try SafeTensorsFile(contentsOf: url)
        var tensors: [(name: String, shape: [Int], values: [Float])] = try file.entries.map { e in
            var values = [Float](repeating: 0, count: e.count)
            try values.withUnsafeMutableBufferPointer { try file.read(e.name, into: $0) }
            return (e.name, e.shape, values)
        }
        edit(&tensors)
        try writeTensors(tensors, to: url)
    }

    private func writeTensors(
        _ tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: String] = ["format": "pt"],
        to url: URL
    ) throws {
        // Keep every array alive while the buffers are in use.
        let storage = tensors.map { ContiguousArray($0.values) }
        var specs: [SafeTensors.Tensor] = []
        var keep: [UnsafeMutableBufferPointer<Float>] = []
        defer { for pointer in keep { pointer.deallocate() } }
        for (t, values) in zip(tensors, storage) {
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: values.count)
            _ = buffer.initialize(from: values)
            keep.append(buffer)
            specs.append(SafeTensors.Tensor(name: t.name, shape: t.shape, values: UnsafeBufferPointer(buffer)))
        }
        try SafeTensors.write(specs, metadata: metadata, to: url)
    }

    // MARK: round trip

    func testRoundTripIsBitExact() throws {
        let (dir, params) = try saveTiny()
        let loaded = try Checkpoint.load(directory: dir)
        XCTAssertEqual(loaded.config, tiny)
        XCTAssertEqual(loaded.parameters.count, params.count)
        for i in 0..<params.count where loaded.parameters[i].bitPattern != params[i].bitPattern {
            XCTFail("parameter \(i): \(loaded.parameters[i]) != \(params[i])")
            break
        }
        XCTAssertEqual(loaded.tokenizerJSON, Data(#"{"opaque": "bytes \u00e9"}"#.utf8))
        XCTAssertEqual(loaded.step, 42)
        XCTAssertEqual(loaded.metadata, ["teacher": "tiny", "seed": "1"])
    }

    func testFileLayoutMatchesHuggingFace() throws {
        let (dir, _) = try saveTiny()
        let contents = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(contents, ["config.json", "model.safetensors", "tokenizer.json"])

        let config = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json")))
                as? [String: Any])
        XCTAssertEqual(config["model_type"] as? String, "gpt2")
        XCTAssertEqual(config["architectures"] as? [String], ["GPT2LMHeadModel"])
        XCTAssertEqual(config["n_embd"] as? Int, 8)
        XCTAssertEqual(config["n_positions"] as? Int, 7)
        XCTAssertEqual(config["n_ctx"] as? Int, 7)
        XCTAssertTrue(config["n_inner"] is NSNull)
        XCTAssertEqual(try XCTUnwrap(config["layer_norm_epsilon"] as? Double), 1e-5, accuracy: 1e-12)
        XCTAssertEqual(config["activation_function"] as? String, "gelu_new")

        let data = try Data(contentsOf: dir.appendingPathComponent("model.safetensors"))
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        XCTAssertEqual(headerLength % 8, 0, "data section must start 8-byte aligned")
        let file = try SafeTensorsFile(data: data, path: "model.safetensors")
        XCTAssertEqual(file.metadata, ["format": "pt"])
        // Data in layout order, so the file's data section is the slab byte for byte.
        XCTAssertEqual(file.entries.map(\.name), ParameterLayout(tiny).tensors.map(\.name))
        XCTAssertEqual(file.entry(named: "transformer.h.1.attn.c_attn.weight")?.shape, [8, 24])
    }

    func testSaveReplacesOlderCheckpointAndLeavesNoTemporaries() throws {
        _ = try saveTiny(seed: 1)
        let (dir, second) = try saveTiny(seed: 2)
        let loaded = try Checkpoint.load(directory: dir)
        XCTAssertEqual(loaded.parameters.array, second.array)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["ckpt"])
    }

    func testSaveRefusesToReplaceADirectoryThatIsNotACheckpoint() throws {
        let dir = root.appendingPathComponent("precious")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        let layout = ParameterLayout(tiny)
        let error = labError {
            try Checkpoint.save(
                directory: dir, config: tiny, layout: layout, parameters: FloatBuffer(count: layout.count),
                tokenizerJSON: nil)
        }
        guard case let .file(path, message)? = error else { return XCTFail("wrong error \(String(describing: error))") }
        XCTAssertEqual(path, dir.path)
        XCTAssertTrue(message.contains("not a checkpoint"), message)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("notes.txt").path))
    }

    func testHuggingFaceNamesWithoutPrefixAndExtraBuffersAreAccepted() throws {
        let (dir, params) = try saveTiny()
        try rewriteTensors(dir) { tensors in
            for i in tensors.indices { tensors[i].name = String(tensors[i].name.dropFirst("transformer.".count)) }
            tensors.append(("lm_head.weight", [11, 8], [Float](repeating: 0.5, count: 88)))
            tensors.append(("h.0.attn.bias", [1, 1, 7, 7], [Float](repeating: 1, count: 49)))
            tensors.append(("h.1.attn.masked_bias", [], [-1e4]))
        }
        let loaded = try Checkpoint.load(directory: dir)
        XCTAssertEqual(loaded.parameters.array, params.array)
    }

    func testHalfPrecisionTensorsAreWidened() throws {
        // 1.0, -2.0, 65504 (max half), smallest subnormal, +inf as F16; 1.0 and -3.0 as BF16.
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00]
        let bf16: [UInt16] = [0x3F80, 0xC040]
        var header =
            #"{"a":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[10,14]}}"#
        while (header.utf8.count) % 8 != 0 { header += " " }
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header.utf8)
        for h in f16 + bf16 { withUnsafeBytes(of: h.littleEndian) { data.append(contentsOf: $0) } }
        let file = try SafeTensorsFile(data: data, path: "half.safetensors")
        var a = [Float](repeating: 0, count: 5), b = [Float](repeating: 0, count: 2)
        try a.withUnsafeMutableBufferPointer { try file.read("a", into: $0) }
        try b.withUnsafeMutableBufferPointer { try file.read("b", into: $0) }
        XCTAssertEqual(a, [1, -2, 65504, 0x1p-24, .infinity])
        XCTAssertEqual(b, [1, -3])
    }

    // MARK: corruption

    func testTruncatedFileNamesTheTensor() throws {
        let (dir, _) = try saveTiny()
        let url = dir.appendingPathComponent(Checkpoint.modelFile)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 100).write(to: url)
        let error = labError { _ = try Checkpoint.load(directory: dir) }
        guard case let .checkpoint(path, tensor, message)? = error else {
            return XCTFail("wrong error \(String(describing: error))")
        }
        XCTAssertEqual(path, url.path)
        // The last 100 bytes are h.1.mlp.c_proj.bias, ln_f.weight, ln_f.bias (32 bytes each) and the
        // tail of h.1.mlp.c_proj.weight: the first damaged tensor in file order is reported.
        XCTAssertEqual(tensor, "transformer.h.1.mlp.c_proj.weight")
        XCTAssertTrue(message.contains("truncated"), message)
    }

    func testGarbageHeaderLength() throws {
        let (dir, _) = try saveTiny()
        let url = dir.appendingPathComponent(Checkpoint.modelFile)
        var data = try Data(contentsOf: url)
        data.replaceSubrange(0..<8, with: [0xDE, 0xAD, 0xBE, 0xEF, 0xDE, 0xAD, 0xBE, 0xEF])
        try data.write(to: url)
        let error = labError { _ = try Checkpoint.load(directory: dir) }
        guard case let .file(path, message)? = error else { return XCTFail("wrong error \(String(describing: error))") }
        XCTAssertEqual(path, url.path)
        XCTAssertTrue(message.contains("header length"), message)
    }

    func testShortAndNonJSONAndTrailingBytes() throws {
        let url = root.appendingPathComponent("x.safetensors")
        guard case .file(_, let short)? = labError({ _ = try SafeTensorsFile(data: Data([1, 2, 3]), path: url.path) })
        else { return XCTFail() }
        XCTAssertTrue(short.contains("shorter than"), short)

        var notJSON = Data()
        withUnsafeBytes(of: UInt64(8).littleEndian) { notJSON.append(contentsOf: $0) }
        notJSON.append(contentsOf: "not json".utf8)
        guard case .file(_, let json)? = labError({ _ = try SafeTensorsFile(data: notJSON, path: url.path) }) else {
            return XCTFail()
        }
        XCTAssertTrue(json.contains("not valid JSON"), json)

        let values: [Float] = [1, 2, 3]
        let good = values.withUnsafeBufferPointer { SafeTensors.encode([.init(name: "w", shape: [3], values: $0)]) }
        XCTAssertNoThrow(try SafeTensorsFile(data: good, path: url.path))
        guard
            case .file(_, let trailing)? = labError({
                _ = try SafeTensorsFile(data: good + Data([0, 0, 0, 0]), path: url.path)
            })
        else { return XCTFail() }
        XCTAssertTrue(trailing.contains("trailing"), trailing)
    }

    func testBadHeaderEntriesNameTheTensor() throws {
        func file(_ header: String, dataBytes: Int) -> Data {
            var h = header
            while h.utf8.count % 8 != 0 { h += " " }
            var d = Data()
            withUnsafeBytes(of: UInt64(h.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: h.utf8)
            d.append(Data(count: dataBytes))
            return d
        }
        let cases: [(String, Int, String, String)] = [
            (#"{"w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#, 16, "w", "not supported"),
            (#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8, "w", "needs 12"),
            (
                #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                12, "b", "overlap"
            ),
            (
                #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                12, "b", "unused"
            ),
            (#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, 4, "w", "non-negative"),
        ]
        for (header, bytes, tensor, fragment) in cases {
            let error = labError {
                _ = try SafeTensorsFile(data: file(header, dataBytes: bytes), path: "f.safetensors")
            }
            guard case let .checkpoint(path, name, message)? = error else {
                XCTFail("\(header): wrong error \(String(describing: error))")
                continue
            }
            XCTAssertEqual(path, "f.safetensors")
            XCTAssertEqual(name, tensor, header)
            XCTAssertTrue(message.contains(fragment), "\(header): \(message)")
        }
    }

    func testMissingTensor() throws {
        let (dir, _) = try saveTiny()
        try rewriteTensors(dir) { $0.removeAll { $0.name == "transformer.h.1.ln_2.weight" } }
        let error = labError { _ = try Checkpoint.load(directory: dir) }
        guard case let .checkpoint(_, tensor, message)? = error else {
            return XCTFail("wrong error \(String(describing: error))")
        }
        XCTAssertEqual(tensor, "transformer.h.1.ln_2.weight")
        XCTAssertTrue(message.contains("missing"), message)
    }

    func testUnexpectedTensor() throws {
        let (dir, _) = try saveTiny()
        try rewriteTensors(dir) { $0.append(("transformer.h.2.ln_1.weight", [8], [Float](repeating: 1, count: 8))) }
        let error = labError { _ = try Checkpoint.load(directory: dir) }
        guard case let .checkpoint(_, tensor, _)? = error else {
            return XCTFail("wrong error \(String(describing: error))")
        }
        XCTAssertEqual(tensor, "transformer.h.2.ln_1.weight")
    }

    func testWrongShape() throws {
        let (dir, _) = try saveTiny()
        // Same element count, transposed: only the shape check can catch it.
        try rewriteTensors(dir) { tensors in
            if let i = tensors.firstIndex(where: { $0.name == "transformer.h.0.mlp.c_fc.weight" }) {
                tensors[i].shape = [32, 8]
            }
        }
        let error = labError { _ = try Checkpoint.load(directory: dir) }
        guard case let .checkpoint(_, tensor, message)? = error else {
            return XCTFail("wrong error \(String(describing: error))")
        }
        XCTAssertEqual(tensor, "transformer.h.0.mlp.c_fc.weight")
        XCTAssertTrue(message.contains("[32, 8]") && message.contains("[8, 32]"), message)
    }

    func testHeadsNotDividingWidth() throws {
        let (dir, _) = try saveTiny()
        try rewriteConfig(dir) { $0["n_head"] = 3 }
        let error = labError { _ = try Checkpoint.load(directory: dir) }
        guard case let .file(path, message)? = error else { return XCTFail("wrong error \(String(describing: error))") }
        XCTAssertEqual(path, dir.appendingPathComponent("config.json").path)
        XCTAssertTrue(message.contains("'n_head'") && message.contains("do not divide"), message)
    }

    func testConfigKeysThatChangeTheMathAreRefused() throws {
        let (dir, _) = try saveTiny()
        let cases: [(String, Any)] = [
            ("model_type", "llama"), ("activation_function", "relu"), ("layer_norm_epsilon", 1e-6),
            ("tie_word_embeddings", false), ("n_inner", 64), ("n_embd", "eight"),
        ]
        for (key, value) in cases {
            let original = try Data(contentsOf: dir.appendingPathComponent("config.json"))
            try rewriteConfig(dir) { $0[key] = value }
            let error = labError { _ = try Checkpoint.load(directory: dir) }
            guard case let .file(_, message)? = error else {
                XCTFail("\(key): wrong error \(String(describing: error))")
                continue
            }
            XCTAssertTrue(message.contains("'\(key)'"), "\(key): \(message)")
            try original.write(to: dir.appendingPathComponent("config.json"))
        }
        try rewriteConfig(dir) { $0["activation_function"] = "gelu_pytorch_tanh" }
        XCTAssertNoThrow(try Checkpoint.load(directory: dir))
    }

    func testMissingDirectoryAndFiles() throws {
        let missing = root.appendingPathComponent("nope")
        guard case let .file(path, message)? = labError({ _ = try Checkpoint.load(directory: missing) }) else {
            return XCTFail()
        }
        XCTAssertEqual(path, missing.path)
        XCTAssertTrue(message.contains("does not exist"), message)

        let (dir, _) = try saveTiny()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model.safetensors"))
        guard case let .file(modelPath, _)? = labError({ _ = try Checkpoint.load(directory: dir) }) else {
            return XCTFail()
        }
        XCTAssertEqual(modelPath, dir.appendingPathComponent("model.safetensors").path)

        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        guard case let .file(configPath, _)? = labError({ _ = try Checkpoint.load(directory: dir) }) else {
            return XCTFail()
        }
        XCTAssertEqual(configPath, dir.appendingPathComponent("config.json").path)
    }
}
