import sys

from cli.main import main

# The same as `imagequeue worker`, options included.
main(["worker", *sys.argv[1:]])
