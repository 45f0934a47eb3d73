import sys

from cli.main import main

# The same as `imagequeue serve`, options included.
main(["serve", *sys.argv[1:]])
