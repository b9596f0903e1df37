import XCTest
@testable import LabCore
final class SmokeTests: XCTestCase { func testKernel() { XCTAssertFalse(BLAS.coreName.isEmpty) } }
