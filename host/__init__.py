"""Host side of firstshot: serial protocol, links, bench and reports."""
