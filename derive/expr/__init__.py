"""What expressions are: the model symbols, the scalar functions, notation nodes, the algebra a person does
on paper, and the printers that write expressions as a textbook does (Unicode text, LaTeX, plain input)."""
