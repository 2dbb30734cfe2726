"""Funil's Docker-free local stack: template reader, moto-backed AWS, dev server, fakes, demo seed."""
