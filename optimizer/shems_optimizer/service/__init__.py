"""The add-on service process: configuration, wiring of store, optimizer and dispatch, MPC loop."""
