from orchestra_emulator.cli import main

main()
