"""The worlds faults happen in: simulation, fault proxies, Toxiproxy, crash control."""
