/* NumPy .npy profiles: see profile.c */
