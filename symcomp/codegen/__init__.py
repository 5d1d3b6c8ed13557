"""Code generation: C++/CUDA emitters, templates, toolchain, disk cache and loader."""
