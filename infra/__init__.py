"""failbridge infrastructure: merge template, state machine definition, local deployment."""
