#pragma once

#include <string>

namespace sluice::sim {

// Checks a ZeroMQ address the engine service is asked to bind. inproc://
// addresses and tcp:// addresses on a loopback host (127.0.0.0/8, ::1,
// localhost) are accepted. Any other address is rejected unless
// `allow_remote` is set, because the engine protocol has no authentication.
// Returns an empty string, or why the address is rejected.
std::string checkServiceAddress(const std::string& address, bool allow_remote);

// True for tcp:// addresses on a loopback host.
bool isLoopbackTcpAddress(const std::string& address);

}  // namespace sluice::sim
