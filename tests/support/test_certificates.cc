#include "tests/support/test_certificates.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace predstore::test_support {

bool MakeTestCertificates(const std::filesystem::path& dir) {
  auto pem = [&](const std::string& name) { return (dir / name).string(); };
  auto openssl = [](const std::string& args) {
    const std::string command = "/usr/bin/openssl " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return false;
    std::string output;
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
    if (pclose(pipe) == 0) return true;
    ADD_FAILURE() << command << ": " << output;
    return false;
  };
  const std::string new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ";
  std::ofstream(dir / "san.cnf") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  for (const std::string ca : {"ca", "other_ca"}) {
    if (!openssl("req -x509 " + new_key + pem(ca + ".key") + " -out " + pem(ca + ".pem") + " -days 2 -subj /CN=" + ca)) {
      return false;
    }
  }
  for (const std::string leaf : {"server", "client", "renewed"}) {
    const std::string ca = leaf == "renewed" ? "other_ca" : "ca";
    if (!openssl("req " + new_key + pem(leaf + ".key") + " -out " + pem(leaf + ".csr") + " -subj /CN=" + leaf) ||
        !openssl("x509 -req -in " + pem(leaf + ".csr") + " -CA " + pem(ca + ".pem") + " -CAkey " + pem(ca + ".key") +
                 " -CAcreateserial -out " + pem(leaf + ".pem") + " -days 2 -extfile " + pem("san.cnf"))) {
      return false;
    }
  }
  return true;
}

}  // namespace predstore::test_support
