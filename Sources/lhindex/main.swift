// The lhindex executable: everything lives in LHIndexCLI so tests can drive it.
import Foundation
import LHIndexCLI

exit(LHIndexCLI.main(Array(CommandLine.arguments.dropFirst())))
