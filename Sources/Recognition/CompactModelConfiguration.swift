import Foundation
import JSONIO

/// config.json of an EmoBake compact model (`"model_type": "emobake-compact"`): the log-mel
/// front end, the CNN's widths, the head, and the emotion names in output order.
public struct CompactModelConfiguration: Sendable, Equatable {
    public static let modelType = "emobake-compact"

    /// How raw outputs x become Dirichlet parameters.
    public enum Head: String, Sendable, CaseIterable {
        /// The paper's head: alpha = x^2 + 1e-6.
        case dirichlet
        /// A softmax classifier (cross-entropy baseline): alpha = softmax(x) * concentration
        /// (100 by default, as for the runtime's wav2vec2 classifiers),
        /// so the mixture is the probability vector and the concentration is fixed.
        case softmax
    }

    public var emotions: [String]
    public var head: Head
    /// Output channels of each block (each block ends in a 2x2 max pool).
    public var channels: [Int]
    /// 3x3 convolution + batch norm + ReLU layers in each block.
    public var convolutionsPerBlock: [Int]
    /// Dropout before the final linear layer (training only).
    public var dropout: Double
    /// alpha = softmax * this, for the softmax head.
    public var softmaxConcentration: Double
    public var features: LogMelSettings

    public init(
        emotions: [String], head: Head = .dirichlet, channels: [Int] = [16, 32, 64, 128],
        convolutionsPerBlock: [Int] = [1, 2, 2, 2], dropout: Double = 0.3, softmaxConcentration: Double = Wav2Vec2EmotionModel.classifierConcentration,
        features: LogMelSettings = LogMelSettings()
    ) {
        self.emotions = emotions
        self.head = head
        self.channels = channels
        self.convolutionsPerBlock = convolutionsPerBlock
        self.dropout = dropout
        self.softmaxConcentration = softmaxConcentration
        self.features = features
    }

    /// Time frames per network output step (each block halves both axes).
    public var timeReduction: Int { 1 << channels.count }

    public var json: JSONValue {
        .object(
            JSONObject([
                ("model_type", .string(Self.modelType)),
                ("format_version", 1),
                ("emotions", .array(emotions.map { .string($0) })),
                ("sample_rate", .integer(Int64(features.sampleRate))),
                ("head", .string(head.rawValue)),
                ("softmax_concentration", .number(softmaxConcentration)),
                ("channels", .array(channels.map { .integer(Int64($0)) })),
                ("convolutions_per_block", .array(convolutionsPerBlock.map { .integer(Int64($0)) })),
                ("dropout", .number(dropout)),
                (
                    "features",
                    .object(
                        JSONObject([
                            ("fft_size", .integer(Int64(features.fftSize))),
                            ("window_length", .integer(Int64(features.windowLength))),
                            ("hop_length", .integer(Int64(features.hopLength))),
                            ("mel_bins", .integer(Int64(features.melBins))),
                            ("min_frequency", .number(features.minimumFrequency)),
                            ("max_frequency", .number(features.maximumFrequency)),
                            ("log_floor", .number(features.logFloor)),
                            ("trim_decibels", .number(features.trimDecibels)),
                            ("trim_margin", .number(features.trimMargin)),
                        ]))
                ),
            ]))
    }

    /// Reads and checks a config.json; errors name the file and the field.
    public init(json value: JSONValue, source: String) throws {
        let root = JSONField(value, source: source)
        let type = try root.required("model_type").string()
        guard type == Self.modelType else {
            throw root.fail("model_type is \"\(type)\", expected \"\(Self.modelType)\"", code: "model.type")
        }
        let emotionsField = try root.required("emotions")
        emotions = try emotionsField.strings()
        guard !emotions.isEmpty, Set(emotions).count == emotions.count else {
            throw emotionsField.fail("expected a list of distinct emotion names")
        }
        let headField = try root.required("head")
        guard let head = Head(rawValue: try headField.string()) else {
            throw headField.fail("expected \"dirichlet\" or \"softmax\"")
        }
        self.head = head
        softmaxConcentration = try root.optional("softmax_concentration")?.double(in: 1e-3...1e6) ?? Wav2Vec2EmotionModel.classifierConcentration
        let channelsField = try root.required("channels")
        channels = try channelsField.array().map { try $0.int() }
        let perBlockField = try root.required("convolutions_per_block")
        convolutionsPerBlock = try perBlockField.array().map { try $0.int() }
        guard !channels.isEmpty, channels.count <= 8, channels.allSatisfy({ (1...4096).contains($0) }) else {
            throw channelsField.fail("expected 1 to 8 channel counts between 1 and 4096")
        }
        guard convolutionsPerBlock.count == channels.count, convolutionsPerBlock.allSatisfy({ (1...8).contains($0) }) else {
            throw perBlockField.fail("expected one count (1...8) per block, \(channels.count) blocks")
        }
        dropout = try root.optional("dropout")?.double(in: 0...0.99) ?? 0
        var features = LogMelSettings()
        let f = try root.required("features")
        features.sampleRate = try root.required("sample_rate").int()
        guard features.sampleRate == 16_000 else { throw try root.required("sample_rate").fail("expected 16000") }
        features.fftSize = try f.required("fft_size").int()
        guard features.fftSize >= 16, features.fftSize <= 8192, features.fftSize & (features.fftSize - 1) == 0 else {
            throw try f.required("fft_size").fail("expected a power of two between 16 and 8192")
        }
        features.windowLength = try f.required("window_length").int()
        guard (1...features.fftSize).contains(features.windowLength) else {
            throw try f.required("window_length").fail("expected 1...fft_size")
        }
        features.hopLength = try f.required("hop_length").int()
        guard (1...features.fftSize).contains(features.hopLength) else { throw try f.required("hop_length").fail("expected 1...fft_size") }
        features.melBins = try f.required("mel_bins").int()
        guard (1...512).contains(features.melBins), features.melBins >= 1 << channels.count else {
            throw try f.required("mel_bins").fail("expected 1...512 and at least 2^blocks (\(1 << channels.count))")
        }
        features.minimumFrequency = try f.required("min_frequency").double(in: 0...8000)
        features.maximumFrequency = try f.required("max_frequency").double(in: features.minimumFrequency + 1...8000)
        features.logFloor = try f.required("log_floor").double(in: 1e-30...1)
        features.trimDecibels = try f.optional("trim_decibels")?.double(in: 0...200) ?? 0
        features.trimMargin = try f.optional("trim_margin")?.double(in: 0...10) ?? 0
        self.features = features
    }
}
