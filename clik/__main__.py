from clik.cli import main

main(prog_name="clik")
