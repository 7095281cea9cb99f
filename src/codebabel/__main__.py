from codebabel.cli import main

main()
