"""What is kept between runs: shared snippets (the store), recent traces (the
run cache), and the examples gallery."""
