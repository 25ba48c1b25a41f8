"""Modules generated from ../specs. Do not edit."""
