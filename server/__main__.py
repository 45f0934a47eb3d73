from cli.main import main

main(["serve"])
