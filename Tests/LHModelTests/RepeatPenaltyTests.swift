// The repeat penalty as llama.cpp defines it (llama_sampler_penalties): each distinct token among the last N
// accepted has its logit divided by the penalty when positive and multiplied by it when negative.
import XCTest
import LHModel

final class RepeatPenaltyTests: XCTestCase {
    func testPenaltyDividesPositiveAndMultipliesNegativeLogitsOfRecentTokens() {
        var s = Sampler(options: SamplingOptions(temperature: 0, repeatPenalty: 2, repeatLastN: 3))
        // Token 0 leads 4.0 to 3.0; once used, 4.0 / 2 = 2.0 loses to token 1.
        XCTAssertEqual(s.sample([4, 3, -1]), 0)
        s.accept(0)
        XCTAssertEqual(s.sample([4, 3, -1]), 1)
        // A negative logit is multiplied: token 2 at -1 becomes -2, below token 1's -1.5.
        var t = Sampler(options: SamplingOptions(temperature: 0, repeatPenalty: 2, repeatLastN: 3))
        t.accept(2)
        XCTAssertEqual(t.sample([-3, -1.5, -1]), 1)
    }

    func testOnlyTheLastNTokensCountAndRepeatsCountOnce() {
        var s = Sampler(options: SamplingOptions(temperature: 0, repeatPenalty: 2, repeatLastN: 2))
        s.accept([0, 0, 0])           // counted once: 4 / 2 = 2 (not 4 / 8)
        XCTAssertEqual(s.sample([4, 2.5, 0]), 1)
        XCTAssertEqual(s.sample([4, 1.5, 0]), 0)
        s.accept([1, 2])               // token 0 left the window of 2
        XCTAssertEqual(s.sample([4, 3, 0]), 0)
    }

    func testPenaltyOfOneChangesNothing() {
        var s = Sampler(options: SamplingOptions(temperature: 0, repeatPenalty: 1, repeatLastN: 64))
        s.accept([0, 0, 0])
        XCTAssertEqual(s.sample([4, 3, 0]), 0)
    }
}

final class RepeatPenaltyExemptionTests: XCTestCase {
    func testExemptTokensAreNeverCounted() {
        var s = Sampler(options: SamplingOptions(temperature: 0, repeatPenalty: 2, repeatLastN: 8), exempt: { $0 == 0 })
        s.accept(0)
        XCTAssertEqual(s.sample([4, 3, 0]), 0)    // token 0 is exempt: not penalized
        s.accept(1)
        XCTAssertEqual(s.sample([1, 1.9, 0]), 0)  // token 1 is: 1.9 / 2 < 1
    }
}
