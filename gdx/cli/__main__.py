from gdx.cli import main

main()
