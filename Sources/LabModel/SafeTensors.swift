// SafeTensors: reader and writer for the safetensors file format (8-byte little-endian header
// length, JSON header, raw little-endian data). Writes F32; reads F32, F16 and BF16 into Float.
// It is not a tensor library and knows nothing about GPT names: Checkpoint maps names to the slab.
import Foundation
import LabCore

/// Element types the reader accepts. Python tooling often saves half precision, so F16 and BF16
/// are widened to Float on read; everything else (F64, integers, F8) is refused by name.
public enum SafeTensorsDType: String, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"

    public var byteSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        }
    }
}

/// One tensor's header entry, with its byte range relative to the start of the data section.
public struct SafeTensorsEntry: Equatable, Sendable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    public let byteRange: Range<Int>
    public var count: Int { shape.reduce(1, *) }
}

/// A view of one safetensors file whose header has been validated in full: every tensor's dtype,
/// shape and byte range are consistent, ranges tile the data section with no overlap, gap or tail.
/// After `init` succeeds, `read(_:into:)` can only fail on a caller's count mismatch.
public struct SafeTensorsFile {
    public let path: String
    /// Entries ordered by their position in the data section.
    public let entries: [SafeTensorsEntry]
    /// The optional "__metadata__" object (string to string).
    public let metadata: [String: String]
    private let byName: [String: Int]
    private let data: Data
    private let dataStart: Int
    /// Bytes of the data section no entry covers, found at init.
    private let tilingProblem: LabError?

    /// Reads the file with one (memory-mapped) `Data(contentsOf:)` and validates its header.
    /// With `deferringTilingCheck`, bytes no header entry covers (a gap, or trailing data) are not an error
    /// until `checkTiling()`, so a reader can first say which expected tensor has no entry.
    public init(contentsOf url: URL, deferringTilingCheck: Bool = false) throws {
        let data: Data
        try FileRead.check(url.path, what: "the weights file", fix: "a checkpoint directory holds model.safetensors")
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw LabError.file(
                path: url.path,
                message: exists
                    ? "cannot be read (\(error.localizedDescription)); check its permissions"
                    : "does not exist; check the path")
        }
        try self.init(data: data, path: url.path, deferringTilingCheck: deferringTilingCheck)
    }

    /// Throws the first gap or trailing data found at init (when it was deferred).
    public func checkTiling() throws {
        if let tilingProblem { throw tilingProblem }
    }

    /// Validates `data` as a safetensors file; `path` is only used to name it in errors.
    public init(data: Data, path: String, deferringTilingCheck: Bool = false) throws {
        var tilingProblem: LabError?
        // Data may be a slice with a non-zero startIndex; all offsets below are relative to it.
        let total = data.count
        guard total >= 8 else {
            throw LabError.file(
                path: path,
                message:
                    "is \(total) bytes, shorter than the 8-byte safetensors header length; the file is truncated or not a safetensors file"
            )
        }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(total - 8) else {
            throw LabError.file(
                path: path,
                message:
                    "header length field says \(headerLength) bytes but only \(total - 8) follow it; the file is truncated or not a safetensors file"
            )
        }
        let headerBytes = data.subdata(in: data.startIndex + 8..<data.startIndex + 8 + Int(headerLength))
        let json: JSONValue
        do {
            json = try JSONDecoder().decode(JSONValue.self, from: headerBytes)
        } catch {
            throw LabError.file(
                path: path,
                message:
                    "header (\(headerLength) bytes) is not valid JSON; the file is corrupt or not a safetensors file")
        }
        guard case let .object(fields) = json else {
            throw LabError.file(
                path: path, message: "header is JSON but not an object; the file is corrupt or not a safetensors file")
        }

        var metadata: [String: String] = [:]
        if let meta = fields["__metadata__"] {
            guard case let .object(pairs) = meta else {
                throw LabError.file(path: path, message: "header '__metadata__' must be an object of strings")
            }
            for (key, value) in pairs {
                guard case let .string(text) = value else {
                    throw LabError.file(
                        path: path,
                        message:
                            "header '__metadata__' key '\(key)' is not a string; safetensors metadata values are strings"
                    )
                }
                metadata[key] = text
            }
        }

        let dataStart = 8 + Int(headerLength)
        let dataLength = total - dataStart
        var entries: [SafeTensorsEntry] = []
        entries.reserveCapacity(fields.count)
        // Sorted so that a file with several faults always reports the same one first.
        for name in fields.keys.sorted() where name != "__metadata__" {
            if let value = fields[name] { entries.append(try Self.parseEntry(name: name, value: value, path: path)) }
        }
        // Sorting by (begin, end) puts zero-sized tensors before a tensor sharing their offset,
        // so the tiling check below accepts them, as the reference implementation does.
        entries.sort {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < (
                $1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name
            )
        }
        var expected = 0
        var previous: String?
        for entry in entries {
            if entry.byteRange.upperBound > dataLength {
                throw LabError.checkpoint(
                    path: path, tensor: entry.name,
                    message:
                        "data_offsets \(entry.byteRange.lowerBound)..<\(entry.byteRange.upperBound) run past the end of the data section (\(dataLength) bytes); the file is truncated"
                )
            }
            if entry.byteRange.lowerBound < expected, let previous {
                throw LabError.checkpoint(
                    path: path, tensor: entry.name,
                    message:
                        "data_offsets \(entry.byteRange.lowerBound)..<\(entry.byteRange.upperBound) overlap tensor '\(previous)' (which ends at \(expected)); the header is corrupt"
                )
            }
            if entry.byteRange.lowerBound > expected, tilingProblem == nil {
                tilingProblem = LabError.checkpoint(
                    path: path, tensor: entry.name,
                    message:
                        "data_offsets start at \(entry.byteRange.lowerBound) but the previous tensor ends at \(expected), leaving \(entry.byteRange.lowerBound - expected) unused bytes; the header is corrupt"
                )
            }
            expected = entry.byteRange.upperBound
            previous = entry.name
        }
        if expected != dataLength, tilingProblem == nil {
            tilingProblem = LabError.file(
                path: path,
                message:
                    "\(dataLength - expected) trailing bytes after the last tensor's data; the file was appended to or its header is corrupt"
            )
        }
        if let tilingProblem, !deferringTilingCheck { throw tilingProblem }
        self.tilingProblem = tilingProblem

        self.path = path
        self.entries = entries
        self.metadata = metadata
        self.byName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
        self.data = data
        self.dataStart = dataStart
    }

    private static func parseEntry(name: String, value: JSONValue, path: String) throws -> SafeTensorsEntry {
        func fail(_ message: String) -> LabError { .checkpoint(path: path, tensor: name, message: message) }
        guard case let .object(f) = value else { throw fail("header entry is not an object") }
        for key in f.keys where !["dtype", "shape", "data_offsets"].contains(key) {
            throw fail("header entry has unknown key '\(key)'; expected dtype, shape and data_offsets")
        }
        guard case let .string(dtypeName)? = f["dtype"] else { throw fail("header entry has no string 'dtype'") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw fail(
                "dtype \(dtypeName) is not supported (F32, F16 and BF16 are); convert the tensor to float32 before saving, e.g. model.float()"
            )
        }
        guard case let .array(shapeValues)? = f["shape"] else { throw fail("header entry has no array 'shape'") }
        var shape: [Int] = []
        var count = 1
        for v in shapeValues {
            guard case let .int(d) = v, d >= 0 else {
                throw fail("shape \(shapeValues) must hold non-negative integers")
            }
            shape.append(d)
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("shape \(shape) is too large") }
            count = product
        }
        guard case let .array(offsetValues)? = f["data_offsets"], offsetValues.count == 2,
            case let .int(begin) = offsetValues[0], case let .int(end) = offsetValues[1], begin >= 0, begin <= end
        else { throw fail("data_offsets must be [begin, end] with 0 <= begin <= end") }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes == end - begin else {
            throw fail(
                "data_offsets \(begin)..<\(end) hold \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) needs \(overflow ? "more than Int.max" : String(bytes)); the header is corrupt"
            )
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    public func entry(named name: String) -> SafeTensorsEntry? { byName[name].map { entries[$0] } }

    /// Copies tensor `name` into `destination`, widening F16/BF16 to Float.
    /// Throws if the tensor is absent or `destination.count` differs from its element count.
    public func read(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let entry = entry(named: name) else {
            throw LabError.checkpoint(path: path, tensor: name, message: "is not in the file")
        }
        guard entry.count == destination.count, let out = destination.baseAddress else {
            if entry.count == 0 && destination.count == 0 { return }
            throw LabError.checkpoint(
                path: path, tensor: name, message: "has \(entry.count) elements but \(destination.count) were expected")
        }
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = UnsafeRawBufferPointer(
                rebasing: raw[(dataStart + entry.byteRange.lowerBound)..<(dataStart + entry.byteRange.upperBound)])
            let n = entry.count
            switch entry.dtype {
            case .f32:
                #if _endian(little)
                    UnsafeMutableRawPointer(out).copyMemory(from: bytes.baseAddress!, byteCount: n * 4)
                #else
                    for i in 0..<n {
                        out[i] = Float(
                            bitPattern: UInt32(
                                littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                #endif
            case .bf16:
                // bfloat16 is the top half of a float32: shifting the bits back is exact.
                for i in 0..<n {
                    let h = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    out[i] = Float(bitPattern: UInt32(h) << 16)
                }
            case .f16:
                for i in 0..<n {
                    out[i] = Self.halfToFloat(
                        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            }
        }
    }

    /// IEEE binary16 to binary32, exact for every input (subnormals, infinities, NaN payloads).
    /// Written out by hand because Swift's Float16 is unavailable on macOS x86_64.
    @inline(__always)
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h & 0x8000) << 16
        let exponent = UInt32((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa · 2⁻²⁴, exactly representable in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}

/// Writes safetensors files (F32 only: the lab trains and stores in Float).
public enum SafeTensors {
    /// A tensor to write; `values.count` must equal the product of `shape`.
    public struct Tensor {
        public let name: String
        public let shape: [Int]
        public let values: UnsafeBufferPointer<Float>
        public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// The file's bytes: tensors' data laid out in the given order, header padded with spaces so
    /// the data section starts on an 8-byte boundary (as the reference writer does).
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) -> Data {
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
            parts.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        var seen = Set<String>()
        for t in tensors {
            // Caller bugs, not user input: the lab builds these lists from a ParameterLayout.
            precondition(
                t.name != "__metadata__" && seen.insert(t.name).inserted,
                "SafeTensors.encode: duplicate or reserved name \(t.name)")
            precondition(
                t.shape.reduce(1, *) == t.values.count,
                "SafeTensors.encode: \(t.name) shape \(t.shape) vs \(t.values.count) values")
            let end = offset + 4 * t.values.count
            parts.append(
                "\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}"
            )
            offset = end
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        var out = Data(count: 8 + headerBytes.count + offset)
        out.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            raw.storeBytes(of: UInt64(headerBytes.count).littleEndian, as: UInt64.self)
            headerBytes.withUnsafeBytes {
                raw.baseAddress!.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
            }
            var cursor = 8 + headerBytes.count
            for t in tensors {
                guard let base = t.values.baseAddress, t.values.count > 0 else { continue }
                #if _endian(little)
                    raw.baseAddress!.advanced(by: cursor).copyMemory(from: base, byteCount: 4 * t.values.count)
                #else
                    for i in 0..<t.values.count {
                        raw.storeBytes(
                            of: base[i].bitPattern.littleEndian, toByteOffset: cursor + 4 * i, as: UInt32.self)
                    }
                #endif
                cursor += 4 * t.values.count
            }
        }
        return out
    }

    /// Encodes and writes atomically (temporary file, then rename).
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to url: URL) throws {
        do {
            try encode(tensors, metadata: metadata).write(to: url, options: .atomic)
        } catch {
            throw LabError.file(
                path: url.path,
                message: "cannot be written (\(error.localizedDescription)); check the directory exists and is writable"
            )
        }
    }

    static func jsonString(_ s: String) -> String { JSONText.quote(s) }
}

/// The JSON values a safetensors header may hold. Decoding order matters: JSONDecoder refuses
/// Bool for numbers and Int for non-integral numbers, so integers stay distinct from 1.5 or true.
enum JSONValue: Decodable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }
}
