#include "sim/service_address.h"

namespace sluice::sim {

namespace {

constexpr const char* kTcpPrefix = "tcp://";

// The host part of "tcp://HOST:PORT", brackets of an IPv6 host removed.
std::string tcpHost(const std::string& address) {
    std::string rest = address.substr(std::string(kTcpPrefix).size());
    if (!rest.empty() && rest[0] == '[') {
        size_t close = rest.find(']');
        return close == std::string::npos ? std::string() : rest.substr(1, close - 1);
    }
    size_t colon = rest.rfind(':');
    return colon == std::string::npos ? rest : rest.substr(0, colon);
}

}  // namespace

bool isLoopbackTcpAddress(const std::string& address) {
    if (address.rfind(kTcpPrefix, 0) != 0) {
        return false;
    }
    std::string host = tcpHost(address);
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string checkServiceAddress(const std::string& address, bool allow_remote) {
    if (address.rfind("inproc://", 0) == 0 || isLoopbackTcpAddress(address)) {
        return {};
    }
    if (address.rfind(kTcpPrefix, 0) != 0 && address.find("://") == std::string::npos) {
        return "invalid address '" + address +
               "': expected inproc://NAME or tcp://HOST:PORT, such as tcp://127.0.0.1:7411";
    }
    if (allow_remote) {
        return {};
    }
    return "rejected address '" + address +
           "': it is not loopback or inproc, and the engine protocol has no authentication. "
           "Use a loopback address such as tcp://127.0.0.1:7411, or allow remote clients "
           "explicitly (sluice-run --allow-remote)";
}

}  // namespace sluice::sim
