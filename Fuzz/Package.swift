// swift-tools-version:6.2
// A separate package (as swift-protobuf's FuzzTesting/ is) so the main package never links a
// target without `main`. Build: swift build -c release --sanitize=fuzzer (see scripts/fuzz).
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which differs between checkouts.
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "accord-fuzz",
    dependencies: [.package(path: "..")],
    targets: ["FuzzWire", "FuzzAgreement", "FuzzRecords"].map { name in
        .executableTarget(name: name, dependencies: [.product(name: "AccordCore", package: mainPackage)])
    }
)
