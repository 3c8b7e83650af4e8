"""Shared test support: one of each helper (port, clock, wait, harnesses), imported by tests and bench/.

Test modules never import each other; what two of them need lives here, and the
conftest.py files expose the common pieces as fixtures.
"""
