import Common
import EmotionCore
import Foundation
import JSONIO

/// How well a classifier's mixtures match single-label clips.
///
/// - accuracy: share of clips whose largest mixture component is the label.
/// - unweighted accuracy (UA): the mean over classes of per-class recall (class-balanced;
///   chance is 1/K whatever the class sizes).
/// - confusion: rows are true labels, columns predicted labels, counts.
/// - mixture MAE: mean over clips and the K components of |mixture_i - onehot_i|, the
///   paper's mixture error against the ground-truth mixture (one-hot for these clips).
/// - calibration error (ECE): clips binned by confidence (largest mixture component) into 10
///   equal-width bins; the count-weighted mean of |accuracy - mean confidence| per bin.
/// - mean concentration: mean sum(alpha) over clips.
public struct ClassifierMetrics: Sendable, Equatable {
    public var emotions: [String]
    public var count: Int
    public var accuracy: Double
    public var unweightedAccuracy: Double
    public var recall: [Double]
    public var confusion: [[Int]]
    public var mixtureMAE: Double
    public var calibrationError: Double
    public var meanConcentration: Double

    public static let calibrationBins = 10

    /// - alphas: one row of K positive values per clip; labels: the true class of each clip.
    public init(alphas: [[Double]], labels: [Int], emotions: [String]) {
        precondition(alphas.count == labels.count && !labels.isEmpty, "ClassifierMetrics: one alpha row per label, at least one clip")
        let classes = emotions.count
        self.emotions = emotions
        count = labels.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var absoluteError = 0.0
        var binCount = [Int](repeating: 0, count: Self.calibrationBins)
        var binCorrect = [Int](repeating: 0, count: Self.calibrationBins)
        var binConfidence = [Double](repeating: 0, count: Self.calibrationBins)
        var concentration = 0.0
        for (row, label) in zip(alphas, labels) {
            let total = row.reduce(0, +)
            concentration += total
            let mixture = row.map { $0 / total }
            // The first largest component wins ties (deterministic).
            var predicted = 0
            for i in 1..<classes where mixture[i] > mixture[predicted] { predicted = i }
            confusion[label][predicted] += 1
            for i in 0..<classes { absoluteError += abs(mixture[i] - (i == label ? 1 : 0)) }
            let confidence = mixture[predicted]
            let bin = min(Self.calibrationBins - 1, Int(confidence * Double(Self.calibrationBins)))
            binCount[bin] += 1
            binConfidence[bin] += confidence
            if predicted == label { binCorrect[bin] += 1 }
        }
        self.confusion = confusion
        let correct = (0..<classes).reduce(0) { $0 + confusion[$1][$1] }
        accuracy = Double(correct) / Double(count)
        recall = (0..<classes).map { c in
            let support = confusion[c].reduce(0, +)
            return support == 0 ? .nan : Double(confusion[c][c]) / Double(support)
        }
        let present = recall.filter { !$0.isNaN }
        unweightedAccuracy = present.reduce(0, +) / Double(max(1, present.count))
        mixtureMAE = absoluteError / Double(count * classes)
        var calibration = 0.0
        for bin in 0..<Self.calibrationBins where binCount[bin] > 0 {
            let n = Double(binCount[bin])
            calibration += n / Double(count) * abs(Double(binCorrect[bin]) / n - binConfidence[bin] / n)
        }
        calibrationError = calibration
        meanConcentration = concentration / Double(count)
    }

    /// Machine-readable, fixed decimals, keys in a fixed order.
    public var json: JSONValue {
        .object(
            JSONObject([
                ("clips", .integer(Int64(count))),
                ("accuracy", .decimal(accuracy, places: 4)),
                ("unweighted_accuracy", .decimal(unweightedAccuracy, places: 4)),
                ("mixture_mae", .decimal(mixtureMAE, places: 4)),
                ("calibration_error", .decimal(calibrationError, places: 4)),
                ("mean_concentration", .decimal(meanConcentration, places: 4)),
                ("emotions", .array(emotions.map { .string($0) })),
                ("recall", .array(recall.map { $0.isNaN ? .null : .decimal($0, places: 4) })),
                ("confusion", .array(confusion.map { .array($0.map { .integer(Int64($0)) }) })),
            ]))
    }

    /// For people: the figures, then the confusion matrix (rows true, columns predicted).
    public var text: String {
        var lines: [String] = []
        lines.append("clips               \(count)")
        lines.append("accuracy            \(DecimalFormat.fixed(accuracy, 4))")
        lines.append("unweighted accuracy \(DecimalFormat.fixed(unweightedAccuracy, 4))")
        lines.append("mixture MAE         \(DecimalFormat.fixed(mixtureMAE, 4))")
        lines.append("calibration error   \(DecimalFormat.fixed(calibrationError, 4))")
        lines.append("mean concentration  \(DecimalFormat.fixed(meanConcentration, 2))")
        lines.append("")
        let names = emotions.map { String($0.prefix(8)) }
        let width = max(8, names.map(\.count).max() ?? 8)
        func pad(_ text: String, _ size: Int) -> String { String(repeating: " ", count: max(0, size - text.count)) + text }
        lines.append(pad("true \\ predicted", width + 9) + names.map { pad($0, width + 1) }.joined() + pad("recall", 8))
        for (index, name) in emotions.enumerated() {
            let recallText = recall[index].isNaN ? "-" : DecimalFormat.fixed(recall[index], 3)
            lines.append(
                pad(name, width + 9) + confusion[index].map { pad(String($0), width + 1) }.joined() + pad(recallText, 8))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
