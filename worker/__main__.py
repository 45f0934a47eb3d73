from cli.main import main

main(["worker"])
