// swift-tools-version:6.2
import PackageDescription

/// Every Swift target: Swift 6 language mode (strict concurrency) plus the swift-nio family's settings.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "accord",
    products: [
        .executable(name: "accord", targets: ["accord"]),
        .executable(name: "accord-bench", targets: ["accord-bench"]),
        .library(name: "AccordCore", targets: ["AccordCore"]),
        .library(name: "AccordNode", targets: ["AccordNode"]),
    ],
    targets: [
        // System libraries (Debian: libssl-dev, libsqlite3-dev); scripts/setup installs them.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Real C functions for the OpenSSL macros Swift cannot import.
        .target(name: "COpenSSLShims", dependencies: ["COpenSSL"]),
        // epoll, eventfd and TCP options, which the Glibc module does not export.
        .target(name: "CAccordLinux"),

        .target(name: "AccordCore", swiftSettings: strict),
        .target(name: "AccordCrypto", dependencies: ["AccordCore", "COpenSSL", "COpenSSLShims"], swiftSettings: strict),
        .target(
            name: "AccordNet",
            dependencies: ["AccordCore", "AccordCrypto", "CAccordLinux", "COpenSSL", "COpenSSLShims"],
            swiftSettings: strict
        ),
        .target(name: "AccordStore", dependencies: ["AccordCore", "AccordCrypto", "CSQLite"], swiftSettings: strict),
        .target(
            name: "AccordNode",
            dependencies: ["AccordCore", "AccordCrypto", "AccordNet", "AccordStore"],
            swiftSettings: strict
        ),
        .executableTarget(name: "accord", dependencies: ["AccordNode", "AccordNet"], swiftSettings: strict),
        .executableTarget(
            name: "accord-bench",
            dependencies: ["AccordCore", "AccordCrypto", "AccordNet", "AccordStore", "AccordNode"],
            swiftSettings: strict
        ),

        // What more than one test target uses: a seeded random number generator, a counter, waiting
        // off the cooperative pool (`offPool`), a search of bytes.
        .target(name: "AccordTestSupport", path: "Tests/AccordTestSupport", swiftSettings: strict),
        .testTarget(name: "AccordCoreTests", dependencies: ["AccordCore", "AccordTestSupport"], swiftSettings: strict),
        .testTarget(name: "AccordCryptoTests", dependencies: ["AccordCrypto", "AccordTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "AccordNetTests",
            dependencies: ["AccordNet", "AccordCrypto", "AccordCore", "COpenSSL", "AccordTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(name: "AccordStoreTests", dependencies: ["AccordStore", "AccordTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "AccordNodeTests",
            dependencies: ["AccordNode", "AccordNet", "AccordStore", "AccordCrypto", "AccordCore", "AccordTestSupport", "accord"],
            swiftSettings: strict
        ),
    ]
)
