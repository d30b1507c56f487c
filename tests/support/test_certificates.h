// Certificates made by the openssl binary for TLS tests, in `dir`:
// ca.pem/ca.key sign server.pem (for 127.0.0.1 and localhost) and
// client.pem; other_ca.pem/other_ca.key sign renewed.pem (for 127.0.0.1
// too). Each leaf has its .key. Valid two days.
#pragma once

#include <filesystem>

namespace predstore::test_support {

// False, with a test failure naming the openssl command, when one failed.
bool MakeTestCertificates(const std::filesystem::path& dir);

}  // namespace predstore::test_support
